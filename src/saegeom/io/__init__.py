"""On-disk formats: safetensors tensors, activation shards, parquet tables (atomic writes).

    from saegeom.io import ShardWriter, ShardSet
    w = ShardWriter("acts/A", d=512, shard_rows=65536)
    w.add(activations, {"mask": mask})          # (n, 512) float32, (n,) uint8: 0 = padding/BOS
    shards = w.close()                           # ShardSet; shards.iter_batches(4096) streams rows
"""

from saegeom.io.atomic import atomic_path
from saegeom.io.shards import ShardSet, ShardWriter, paired_blocks, split_shards
from saegeom.io.tables import METRICS_SCHEMA, TableSchemaError, read_metrics, validate_metrics, write_metrics
from saegeom.io.tensors import load_tensors, save_tensors

__all__ = ["METRICS_SCHEMA", "ShardSet", "ShardWriter", "TableSchemaError", "atomic_path", "load_tensors",
           "paired_blocks", "read_metrics", "save_tensors", "split_shards", "validate_metrics", "write_metrics"]
