"""The package's import graph has no circles (modules or packages)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "embtrans"


def _graph() -> dict[str, set[str]]:
  mods = {".".join(f.relative_to(ROOT.parent).with_suffix("").parts)
          .removesuffix(".__init__"): f for f in ROOT.rglob("*.py")}
  graph = {m: set() for m in mods}
  for m, f in mods.items():
    pkg = m if f.name == "__init__.py" else m.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(f.read_text())):
      if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
          parts = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
          base = ".".join(parts + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                 for a in node.names]
      else:
        continue
      graph[m] |= {n for n in names if n in mods and n != m}
  return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  state, stack, out = {}, [], []

  def visit(u):
    state[u] = 1
    stack.append(u)
    for v in sorted(graph[u]):
      if state.get(v) == 1:
        out.append(stack[stack.index(v):] + [v])
      elif not state.get(v):
        visit(v)
    stack.pop()
    state[u] = 2

  for m in sorted(graph):
    if not state.get(m):
      visit(m)
  return out


def test_the_import_graph_has_no_circles():
  assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_planted_circle():
  graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
  assert _cycles(graph) == [["a", "b", "c", "a"]]


def test_the_graph_sees_relative_and_absolute_imports():
  graph = _graph()
  assert "embtrans.engine.loop" in graph["embtrans.engine.program"]
  assert "embtrans.tasks" in graph["embtrans.train"]
