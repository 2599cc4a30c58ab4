#!/usr/bin/env python3
"""Report two-file import cycles inside each crate of the workspace.

For every crate (a `src/` directory with a `lib.rs` or `main.rs`), each `.rs`
file is a module; this script collects, per file, the other files of the same
crate it refers to:

- `use` trees starting with `crate::`, `super::`, `self::` or a child module;
- paths in code: `crate::a::b`, `super::x`, `self::m::x`, and paths through
  a module imported by `use` (`use crate::layers; layers::auth::X`).

A path resolves to the file that defines its longest module prefix; a name
that file only re-exports (`pub use x::Y`, `use x::Y` in a `mod.rs` or
`lib.rs`) is followed to where it is defined, so importing through a façade
is not a reference to the façade. A `mod x;` declaration is not a reference.

Comments (doc comments and their intra-doc links included), string literals
and items under `#[cfg(test)]` are ignored (`--include-tests` keeps them).

Two files that refer to each other are an import cycle: the script lists each
pair with the names each side uses. Files that refer to one another through
three or more files (a group no two-file cycle explains) are listed too, as
one shortest ring. With any cycle it exits 1; with none, 0.

Usage: scripts/check_import_cycles.py [--include-tests] [--all] [--verbose] [SRC_DIR ...]
(default: the library crates of crates/*/src and examples/*/src, those with a
`lib.rs`; `--all` adds the binary-only ones).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS_START = {"crate", "super", "self"}


# ---------------------------------------------------------------- lexing


def tokenize(text: str) -> list[str]:
    """Identifiers, `::`, and single punctuation; comments, strings, chars dropped."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 300]):
            m = re.match(r'r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            i = n if j < 0 else j + len(close)
        elif c == "b" and re.match(r'br#*"', text[i:i + 300]):
            m = re.match(r'br(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            i = n if j < 0 else j + len(close)
        elif c == '"' or (c in "bc" and text.startswith('"', i + 1)):
            i = i + 1 if c == '"' else i + 2
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif c == "'" or (c == "b" and text.startswith("'", i + 1)):
            # a char literal ('x', '\n', '\u{..}', b'x') or a lifetime ('a)
            k = i + 1 if c == "'" else i + 2
            m = re.match(r"(\\u\{[0-9a-fA-F_]*\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'])'", text[k:k + 12])
            if m:
                i = k + len(m.group(0))
            else:
                i += 1  # a lifetime: its name lexes as an identifier next
                if c == "b":
                    tokens.append("b")
        elif c.isalpha() or c == "_":
            m = IDENT.match(text, i)
            tokens.append(m.group(0))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"[0-9][0-9A-Za-z_.]*").match(text, i)
            i = m.end()
        elif text.startswith("::", i):
            tokens.append("::")
            i += 2
        elif c == "$":
            # `$crate` in macros: not this crate's module graph
            m = IDENT.match(text, i + 1)
            i = i + 1 + (len(m.group(0)) if m else 0)
            tokens.append("$")
        else:
            tokens.append(c)
            i += 1
    return tokens


def matching(tokens: list[str], i: int, open_: str, close: str) -> int:
    """The index just past the bracket that closes the one at `i`."""
    depth = 0
    while i < len(tokens):
        if tokens[i] == open_:
            depth += 1
        elif tokens[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def is_cfg_test(attr: list[str]) -> bool:
    """`#[cfg(test)]` or `#[cfg(all(test, ...))]`, not `not(test)`."""
    if len(attr) < 4 or attr[0] != "cfg":
        return False
    body = attr[1:]
    for k, t in enumerate(body):
        if t == "test" and not (k >= 2 and body[k - 2] == "not"):
            return True
    return False


def skip_item(tokens: list[str], i: int) -> int:
    """The index past the item starting at `i` (to its `;` or its `{...}`)."""
    depth = 0
    while i < len(tokens):
        t = tokens[i]
        if t in "([":
            depth += 1
        elif t in ")]":
            depth -= 1
        elif t == ";" and depth == 0:
            return i + 1
        elif t == "{" and depth == 0:
            return matching(tokens, i, "{", "}")
        i += 1
    return i


# ---------------------------------------------------------------- use trees


def parse_use_tree(tokens: list[str], i: int, prefix: list[str], out: list[tuple[list[str], str | None]]) -> int:
    """Expand a use tree at `i` into (path, bound name) pairs; the index past it."""
    path = list(prefix)
    while i < len(tokens):
        t = tokens[i]
        if t == "{":
            i += 1
            while i < len(tokens) and tokens[i] != "}":
                i = parse_use_tree(tokens, i, path, out)
                if i < len(tokens) and tokens[i] == ",":
                    i += 1
            return i + 1
        if t == "*":
            out.append((path + ["*"], None))
            return i + 1
        if t == "::":
            i += 1
            continue
        if IDENT.fullmatch(t):
            # `a::{self, ...}` is `a` itself
            if not (t == "self" and path):
                path.append(t)
            i += 1
            if i < len(tokens) and tokens[i] == "as":
                alias = tokens[i + 1]
                out.append((path, None if alias == "_" else alias))
                return i + 2
            if i < len(tokens) and tokens[i] == "::":
                continue
            out.append((path, path[-1]))
            return i
        return i + 1
    return i


# ---------------------------------------------------------------- crates


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.files: dict[tuple[str, ...], Path] = {}
        for f in sorted(src.rglob("*.rs")):
            rel = f.relative_to(src)
            if rel.parts[0] == "bin":
                continue
            parts = list(rel.with_suffix("").parts)
            if parts in (["lib"], ["main"]):
                parts = []
            elif parts[-1] == "mod":
                parts = parts[:-1]
            self.files[tuple(parts)] = f
        # per file: inline module paths, use bindings (name -> absolute path), references
        self.inline: dict[tuple[str, ...], tuple[str, ...]] = {}  # module path -> file module
        self.bindings: dict[tuple[str, ...], dict[str, list[str]]] = {}
        self.raw_refs: dict[tuple[str, ...], list[tuple[list[str], tuple[str, ...]]]] = {}

    def has_module(self, path: tuple[str, ...]) -> bool:
        return path in self.files or path in self.inline

    def file_of(self, path: tuple[str, ...]) -> tuple[str, ...]:
        return self.inline.get(path, path)

    def absolute(self, path: list[str], here: tuple[str, ...]) -> list[str] | None:
        """`path` (as written in module `here`) as segments from the crate root."""
        if not path:
            return None
        head = path[0]
        if head == "crate":
            return path[1:]
        if head in ("self", "super"):
            base = list(here)
            k = 0
            while k < len(path) and path[k] in ("self", "super"):
                if path[k] == "super":
                    if not base:
                        return None
                    base.pop()
                k += 1
            return base + path[k:]
        if self.has_module(here + (head,)):
            return list(here) + path
        binding = self.bindings.get(here, {}).get(head)
        if binding is not None:
            return binding + path[1:]
        return None

    def resolve(self, segs: list[str], seen: frozenset = frozenset()) -> tuple[tuple[str, ...], str | None] | None:
        """(file module, item name or None) that `segs` (from the root) refers to."""
        k = len(segs)
        while k > 0 and not self.has_module(tuple(segs[:k])):
            k -= 1
        module = tuple(segs[:k])
        item = segs[k] if k < len(segs) else None
        if item is not None and item != "*":
            target = self.bindings.get(module, {}).get(item)
            key = (module, item)
            if target is not None and key not in seen:
                followed = self.resolve(target + segs[k + 1:], seen | {key})
                if followed is not None:
                    return followed
        return self.file_of(module), item

    # ------------------------------------------------------------ scanning

    def scan(self, include_tests: bool) -> None:
        for module, path in self.files.items():
            tokens = tokenize(path.read_text(encoding="utf-8"))
            self.bindings.setdefault(module, {})
            self.raw_refs.setdefault(module, [])
            self._scan(tokens, 0, len(tokens), module, module, include_tests)

    def _scan(self, tokens, i, end, here, file_module, include_tests):
        refs = self.raw_refs[file_module]
        while i < end:
            t = tokens[i]
            if t == "#" and i + 1 < end and tokens[i + 1] in ("[", "!"):
                j = i + 1 if tokens[i + 1] == "[" else i + 2
                close = matching(tokens, j, "[", "]")
                attr = tokens[j + 1:close - 1]
                if not include_tests and tokens[i + 1] == "[" and is_cfg_test(attr):
                    # skip any further attributes, then the item
                    k = close
                    while k < end and tokens[k] == "#":
                        k = matching(tokens, k + 1, "[", "]")
                    i = skip_item(tokens, k)
                    continue
                i = close
                continue
            if t == "mod" and i + 2 < end and IDENT.fullmatch(tokens[i + 1]) and tokens[i + 2] == "{":
                inner = here + (tokens[i + 1],)
                self.inline.setdefault(inner, file_module)
                self.bindings.setdefault(inner, {})
                close = matching(tokens, i + 2, "{", "}")
                self._scan(tokens, i + 3, close - 1, inner, file_module, include_tests)
                i = close
                continue
            if t == "use" and (i == 0 or tokens[i - 1] != "::"):
                out: list[tuple[list[str], str | None]] = []
                j = parse_use_tree(tokens, i + 1, [], out)
                while j < end and tokens[j] != ";":
                    j += 1
                for path, bound in out:
                    if path and path[0] == "::":
                        continue
                    refs.append((path, here))
                    absolute = self.absolute(path, here) if path[-1] != "*" else None
                    if bound is not None and absolute is not None:
                        self.bindings[here][bound] = absolute
                i = j + 1
                continue
            if (IDENT.fullmatch(t) and i + 1 < end and tokens[i + 1] == "::"
                    and (i == 0 or tokens[i - 1] not in ("::", "$"))):
                path = [t]
                j = i + 1
                while j + 1 < end and tokens[j] == "::" and IDENT.fullmatch(tokens[j + 1]):
                    path.append(tokens[j + 1])
                    j += 2
                refs.append((path, here))
                i = j
                continue
            i += 1

    def edges(self) -> dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]]:
        """(from file, to file) -> the names used."""
        out: dict[tuple[tuple[str, ...], tuple[str, ...]], set[str]] = {}
        for file_module, refs in self.raw_refs.items():
            for path, here in refs:
                if path[0] not in KEYWORDS_START and not self.has_module(here + (path[0],)) \
                        and path[0] not in self.bindings.get(here, {}):
                    continue  # an external crate or a local name
                segs = self.absolute(path, here)
                if segs is None:
                    continue
                resolved = self.resolve(segs)
                if resolved is None:
                    continue
                target, item = resolved
                # a module itself (`use crate::m;`, `use m::{self}`) is no
                # reference: the paths through it are
                if item is None or target == file_module or target not in self.files:
                    continue
                out.setdefault((file_module, target), set()).add(item)
        return out

    def name(self, module: tuple[str, ...]) -> str:
        path = self.files[module].resolve()
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def default_sources(root: Path, binaries: bool) -> list[Path]:
    """The library crates' `src/` (with `--all`, the binary-only crates' too)."""
    return [p for pattern in ("crates/*/src", "examples/*/src") for p in sorted(root.glob(pattern))
            if (p / "lib.rs").exists() or (binaries and (p / "main.rs").exists())]


def rings(edges) -> list[list[tuple[str, ...]]]:
    """Files importing one another through three or more files: for each
    strongly connected group of files that no two-file cycle explains, one
    shortest ring through it (Tarjan's algorithm, then a breadth-first search)."""
    graph: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    groups: list[list] = []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 2:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    out = []
    for group in groups:
        members = set(group)
        best = None
        for start in sorted(members):
            # the shortest way back to `start` inside the group
            seen = {start: None}
            queue = [start]
            found = None
            while queue and found is None:
                nxt = []
                for v in queue:
                    for w in sorted(graph[v] & members):
                        if w == start:
                            found = v
                            break
                        if w not in seen:
                            seen[w] = v
                            nxt.append(w)
                    if found is not None:
                        break
                queue = nxt
            if found is None:
                continue
            ring = [found]
            while ring[-1] != start:
                ring.append(seen[ring[-1]])
            ring.reverse()
            if best is None or len(ring) < len(best):
                best = ring
        if best is not None and len(best) > 2:
            out.append(best)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--include-tests", action="store_true", help="count #[cfg(test)] items too")
    ap.add_argument("--all", action="store_true", help="binary-only crates too (by default: libraries)")
    ap.add_argument("--verbose", action="store_true", help="print every file's references")
    ap.add_argument("sources", nargs="*", type=Path, help="src/ directories (default: every crate)")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    sources = args.sources or default_sources(root, args.all)
    cycles = 0
    longer = 0
    files = 0
    for src in sources:
        crate = Crate(src)
        crate.scan(args.include_tests)
        files += len(crate.files)
        edges = crate.edges()
        if args.verbose:
            for (a, b), names in sorted(edges.items()):
                print(f"  {crate.name(a)} -> {crate.name(b)}: {', '.join(sorted(names))}")
        for (a, b), names in sorted(edges.items()):
            if a < b and (b, a) in edges:
                cycles += 1
                back = edges[(b, a)]
                print(f"cycle: {crate.name(a)} <-> {crate.name(b)}")
                print(f"    {crate.name(a)} uses {', '.join(sorted(names))}")
                print(f"    {crate.name(b)} uses {', '.join(sorted(back))}")
        for ring in rings(edges):
            longer += 1
            print("cycle through {} files: {}".format(
                len(ring), " -> ".join(crate.name(m) for m in ring + ring[:1])))
            for a, b in zip(ring, ring[1:] + ring[:1]):
                print(f"    {crate.name(a)} uses {', '.join(sorted(edges[(a, b)]))}")
    where = f"({files} files in {len(sources)} crates)"
    if cycles or longer:
        print(f"{cycles} import cycle(s) between two files, {longer} through more {where}")
        return 1
    print(f"no import cycle {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
