"""Every config key is documented in the schema, and the generated configuration reference lists them all."""

import yaml

from saegeom.schema_docs import SCHEMA_FILE, config_keys, render_markdown


def test_every_schema_key_has_a_description():
    keys = list(config_keys())
    assert len(keys) > 100  # the walk reaches nested blocks and $defs (e.g. worlds.<name>.firing.decay)
    assert "worlds.<name>.firing.decay" in {k.path for k in keys}
    missing = [k.path for k in keys if not k.description]
    assert not missing, f"schema keys without a description: {missing}"


def test_walk_follows_refs_and_maps_of_names():
    schema = {
        "properties": {"a": {"type": "integer", "default": 3, "description": "an a"},
                       "m": {"type": "object", "description": "a map",
                             "additionalProperties": {"$ref": "#/$defs/item"}}},
        "$defs": {"item": {"type": "object", "description": "one item",
                           "properties": {"x": {"enum": ["p", "q"], "description": "an x"}}}},
    }
    keys = {k.path: k for k in config_keys(schema)}
    assert list(keys) == ["a", "m", "m.<name>.x"]
    assert keys["a"].default == "3" and keys["m.<name>.x"].type == "one of `p`, `q`"
    table = render_markdown(schema)
    assert table.count("\n") == 2 + len(keys) and "`m.<name>.x`" in table


def test_schema_file_is_the_workflow_schema():
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    assert schema["properties"]["compare"]["properties"]["min_corr"]["default"] == "auto"
