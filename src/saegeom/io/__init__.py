"""On-disk formats: safetensors tensors, activation shards, parquet tables."""
