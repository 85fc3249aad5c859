#!/usr/bin/env python3
"""sbom_check.py DATA spdx|cyclonedx FILE: validates FILE against the SPDX
2.3 or CycloneDX 1.5 JSON schema in DATA (tests/data), offline: the schemas
a CycloneDX BOM's schema refers to are loaded from DATA/cyclonedx."""
import json
import os
import sys
import warnings

import jsonschema

warnings.simplefilter("ignore", DeprecationWarning)


def main():
    data, kind, path = sys.argv[1:4]
    store = {}
    if kind == "spdx":
        schema = json.load(open(os.path.join(data, "spdx", "spdx-schema.json")))
    else:
        d = os.path.join(data, "cyclonedx")
        for f in os.listdir(d):
            if f.endswith(".json"):
                s = json.load(open(os.path.join(d, f)))
                store[f] = s
                if "$id" in s:
                    store[s["$id"]] = s
        schema = store["bom-1.5.schema.json"]
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    jsonschema.Draft7Validator(schema, resolver=resolver).validate(
        json.load(open(path)))


if __name__ == "__main__":
    main()
