"""The one training engine every task runs on.

  members.py  stacked train state [M] and the vmapped (and scanned) step
  feeds.py    device-resident rows gathered in-step | host-streamed batches
  loop.py     the one loop: log window (only host sync), NaN policy,
              checkpoint cadence
  optim.py    AdamW + warmup-cosine with the learning rate as member data

A single run is M = 1; a sweep program is M members of one shape.
"""
