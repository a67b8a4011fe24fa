"""The session report: a plain model of one dosing day (`model`), built from the database
(`build`), with the record hash that lets anyone check a printed copy (`record_hash`)."""
