"""Vital signs from the monitors: connecting them (`captures`, `device_setup`) and recording
without a window (`headless_recorder`). The table of parameters every feature reads is the kernel's
`console.core.vitals_table`."""
