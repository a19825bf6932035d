"""The truth checker: every public output read as a reader reads it, and the facts they state compared.

`facts` holds what a fact is and the comparison; `wording` reads numbers and dates as the outputs
write them; `parsers` turns each output (page, PDF, CSV, XLSX, JSON, API, feed, calendar, zip,
CSVW, JSON-LD, email) into a flat dict of facts; `reader` fetches them all through the test client;
`record` is what the people in the simulation did, stated as facts the outputs must agree with;
`newsroom` is the people themselves, working through the services the admin uses.
"""
