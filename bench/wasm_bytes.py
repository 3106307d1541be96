"""`make bench` helper: where the WASM's bytes go (issue 17), from `twiggy top` of the module as the compiler left it
(after LTO, before wasm-bindgen and wasm-opt: the shipped file is smaller, the proportions are what this shows).
Custom sections (function names, wasm-bindgen's descriptions) and wasm-bindgen's `__wbindgen_describe_*` functions
are left out: wasm-bindgen and wasm-opt drop them. Prints two Markdown tables: bytes per crate (a function counts
for the crate of the type or path it is named after: `<leptos::X as core::Y>::f` is leptos's), and bytes per
generic function with all its instantiations (where generics multiply code).

Usage: wasm_bytes.py TWIGGY WASM
"""

import csv
import io
import re
import subprocess
import sys
from collections import Counter

twiggy, wasm = sys.argv[1], sys.argv[2]
out = subprocess.run([twiggy, "top", "-n", "1000000", "--format", "csv", wasm], check=True, capture_output=True, text=True)


def dropped(name: str) -> bool:
    return "custom section" in name or '"function names"' in name or "__wbindgen_describe" in name


rows = [(row["Name"], int(row["ShallowSize"])) for row in csv.DictReader(io.StringIO(out.stdout))]
rows = [(re.sub(r"\[[0-9a-f]{16}\]", "", name), size) for name, size in rows if not dropped(name)]
total = sum(size for _, size in rows)


def generic(name: str) -> str:
    """The function without its instantiation's hash."""
    return re.sub(r"::h[0-9a-f]{16}$", "", name)


def crate(name: str) -> str:
    if re.match(r"(data|elem|code|type|table|global|memory)\[", name):
        return "(static data and tables)" if name.startswith(("data", "elem")) else "(unnamed)"
    inner = re.sub(r"^(<|&|\*|\(|mut |dyn |const |T as |A as |F as |S as )+", "", name)
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", inner)
    return match.group(1) if match else "(other)"


def table(title: str, counter: Counter, counts: Counter | None, top: int) -> None:
    print(f"| {title} | bytes | share |" + (" instantiations |" if counts else ""))
    print("|---|---:|---:|" + ("---:|" if counts else ""))
    for key, size in counter.most_common(top):
        label = key.replace("|", "\\|")
        label = label if len(label) <= 100 else label[:97] + "..."
        extra = f" {counts[key]} |" if counts else ""
        print(f"| `{label}` | {size:,} | {100 * size / total:.1f} % |{extra}")
    rest = total - sum(size for _, size in counter.most_common(top))
    print(f"| everything else | {rest:,} | {100 * rest / total:.1f} % |" + (" |" if counts else ""))
    print()


by_crate, by_generic, instantiations = Counter(), Counter(), Counter()
for name, size in rows:
    by_crate[crate(name)] += size
    by_generic[generic(name)] += size
    instantiations[generic(name)] += 1

print(f"{total:,} bytes of code and data in {len(rows):,} items.\n")
table("crate", by_crate, None, 12)
table("function (all its instantiations)", by_generic, instantiations, 12)
