"""A snapshot of the asset graph as the UI shows it: every asset's group, upstream assets, owners,
kinds and checks. A change to the graph shows here as a diff to review, and is accepted with
`pytest tests/unit/test_asset_graph.py --snapshot-update`."""

from orchestration.definitions import defs


def test_the_asset_graph_is_the_one_reviewed(snapshot):
    graph = defs.resolve_asset_graph()
    checks: dict[str, list[str]] = {}
    for check in graph.asset_check_keys:
        checks.setdefault(check.asset_key.to_user_string(), []).append(check.name)
    nodes = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node, name = graph.get(key), key.to_user_string()
        nodes[name] = {
            "group": node.group_name,
            "owners": ", ".join(sorted(node.owners)),
            "kinds": ", ".join(sorted(node.kinds)),
            "upstream": ", ".join(sorted(parent.to_user_string() for parent in node.parent_keys)),
            "checks": ", ".join(sorted(checks.get(name, []))),
        }
    assert nodes == snapshot
