"""Writing events: each input prepared alone (shape, model, status, timestamp,
event id), optionally by a second process, then placed, chained and inserted in
one transaction per batch, with the streams a writer keeps between batches."""
