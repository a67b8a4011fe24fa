"""One module per wire protocol: a decoder and a simulated monitor for each."""
