"""Files -> model inputs (numpy + pyarrow, no pandas), in pipeline order:

    schema      what a checked spec needs from the data: columns, tables, labels, aligned lists
    source      Parquet/CSV files -> checked numpy chunks (columns: one column's checks;
                csvlines: the line of a CSV file pyarrow refuses)
    keys        the bookkeeping keys of a chunk (lengths, missing flags, labels, extras)
    preprocess  raw values -> embedding rows and normalised numbers (recdsl.ops.rows;
                lookups: each table's Keras layer and OOV token)
    pipeline    a split: cached in memory, or streamed through tf.data
    errors      DataError and the log of fixed or dropped rows
"""
