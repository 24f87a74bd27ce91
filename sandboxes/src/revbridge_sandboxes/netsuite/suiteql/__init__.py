"""A small SuiteQL engine: tokenizer, recursive-descent parser and evaluator over the sandbox's records.

It covers the subset revbridge issues (one join, filters, aggregates, grouping, ordering); anything
else is a ``SuiteQLError`` that the route answers as NetSuite's 400.
"""
