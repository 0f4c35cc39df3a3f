"""The kernel every layer may import: errors, parameters, label and file I/O, the registry and
factory that build configurable parts, shared settings, the learned-model helper, and the
official MER-OV metrics. Nothing here imports the layers above it (vocab, members, judge,
ensemble); the registry names their classes as 'module:Class' strings, imported on demand."""
