#!/usr/bin/env python3
"""Runs the runnable code blocks of READMEs, so their quick starts cannot rot.

`make test-readme` runs it on README.md and pool-core/README.md, after the
builds the READMEs tell a new user to do (the Node addon in release, the
Python extension in .venv, liblitepool through `make install`).

The marker: an HTML comment on the line right before a fenced block (it does
not show on GitHub or crates.io):

    <!-- runnable -->                 run this block
    <!-- runnable: file=app.mjs -->   with options (space separated key=value)

What each language does (a block fails on a non-zero exit, a timeout, or
any text on stderr: the happy path prints no warnings and no errors):

  toml    `file=Cargo.toml`: the [dependencies] of the next rust block. The
          `litepool = ...` line's `path = "..."` (which the README points at
          "your clone") is rewritten to this checkout's pool-core; that is the
          only edit made to any block.
  rust    src/main.rs of a fresh cargo project (its manifest is the toml block
          above, or just litepool when there is none); `cargo run -q`, with
          this workspace's Cargo.lock and target directory so it reuses what
          is built.
  python  written to `file` (default app.py), run by the project's .venv
          python with `-W error`.
  js      written to `file` (default app.js; `.mjs` for an ES module), run by
          node; `require('litepool')` / `import 'litepool'` resolve to
          bindings-node (linked as node_modules/litepool, as `npm install
          /path/to/litepool/bindings-node` would), loading its release addon.
  c       written to `file` (default app.c) and compiled with -Wall -Wextra
          -Wpedantic -Werror -fsyntax-only; a later sh block of the same
          section must build and run it.
  sh      run by `bash -euo pipefail`; `cwd=repo` runs it in the checkout (for
          `make install ...`), otherwise in the section's directory. HOME is a
          temporary directory shared by the whole run, so `PREFIX=$HOME/.local`
          installs into a throw-away prefix.

Blocks under the same `## ` heading share one fresh directory, in order, the
way a reader follows a section in one terminal. Usage:

    scripts/check-readme.py [--require rust,python,js,c] README.md [...]

`--require` fails a file that lacks a runnable block of each listed language
(so deleting a marker cannot make the check pass). Exits non-zero on the
first failing block; keeps its directory when LITEPOOL_README_KEEP=1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!--\s*runnable(?::\s*(?P<opts>.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`]*)$")
HEADING = re.compile(r"^##\s+(?P<title>.+?)\s*$")
LANGS = {"rust": "rust", "python": "python", "py": "python", "js": "js", "javascript": "js", "mjs": "js",
         "c": "c", "sh": "sh", "bash": "sh", "shell": "sh", "toml": "toml"}
TIMEOUT = {"rust": 900, "sh": 900}  # a first build may compile for minutes; others 120 s


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    section: str
    opts: dict[str, str]
    code: str


class CheckError(Exception):
    pass


def parse(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    section = "(top)"
    i = 0
    fence_open = None  # the backticks of a fence we are inside (unmarked)
    while i < len(lines):
        line = lines[i]
        if fence_open is not None:
            if line.strip() == fence_open:
                fence_open = None
            i += 1
            continue
        if m := HEADING.match(line):
            section = m["title"]
        marker = MARKER.match(line)
        if marker:
            if i + 1 >= len(lines) or not (fence := FENCE.match(lines[i + 1])):
                raise CheckError(f"{path}:{i + 1}: a runnable marker must be right before a ``` fence")
            info = fence["info"].strip().split(",")[0].strip().lower()
            if info not in LANGS:
                raise CheckError(f"{path}:{i + 2}: cannot run a {info or 'plain'!r} block (known: {', '.join(sorted(LANGS))})")
            opts = {}
            for opt in (marker["opts"] or "").split():
                key, eq, value = opt.partition("=")
                if not eq or key not in ("file", "cwd"):
                    raise CheckError(f"{path}:{i + 1}: unknown runnable option {opt!r} (file=NAME, cwd=repo)")
                opts[key] = value
            if opts.get("cwd", "repo") != "repo":
                raise CheckError(f"{path}:{i + 1}: cwd= takes only 'repo'")
            end = i + 2
            while end < len(lines) and lines[end].strip() != fence["fence"]:
                end += 1
            if end >= len(lines):
                raise CheckError(f"{path}:{i + 2}: unclosed fence")
            code = "\n".join(lines[i + 2:end]) + "\n"
            blocks.append(Block(path, i + 2, LANGS[info], section, opts, code))
            i = end + 1
            continue
        if fence := FENCE.match(line):
            fence_open = fence["fence"]
        i += 1
    return blocks


@dataclass
class Section:
    directory: Path
    cargo_deps: str | None = None
    c_files: list[str] = field(default_factory=list)
    sh_ran: bool = False


class Runner:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"
        self.home.mkdir()
        real_home = Path(os.environ.get("HOME", str(Path.home())))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DB_POOL_", "LITEPOOL_", "NAPI_RS_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        # Tools found through HOME keep their real homes when sh blocks move HOME.
        env.setdefault("CARGO_HOME", str(real_home / ".cargo"))
        env.setdefault("RUSTUP_HOME", str(real_home / ".rustup"))
        if (real_home / ".pyenv").is_dir():
            env.setdefault("PYENV_ROOT", str(real_home / ".pyenv"))
        env.setdefault("npm_config_cache", str(real_home / ".npm"))
        self.env = env
        target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        self.target = target if target.is_absolute() else ROOT / target
        self.venv_python = ROOT / ".venv" / "bin" / "python"

    def run(self, argv: list[str], cwd: Path, block: Block, env: dict[str, str] | None = None) -> str:
        timeout = TIMEOUT.get(block.lang, 120)
        try:
            proc = subprocess.run(argv, cwd=cwd, env=env or self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise CheckError(f"{where(block)}: timed out after {timeout} s\n{exc.stdout or ''}{exc.stderr or ''}") from exc
        if proc.returncode != 0 or proc.stderr.strip():
            what = f"exit status {proc.returncode}" if proc.returncode else "text on stderr"
            raise CheckError(f"{where(block)}: {what}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
        return proc.stdout

    def block(self, block: Block, section: Section) -> str:
        d = section.directory
        match block.lang:
            case "toml":
                if block.opts.get("file") != "Cargo.toml":
                    raise CheckError(f"{where(block)}: a runnable toml block needs file=Cargo.toml")
                section.cargo_deps = block.code
                return ""
            case "rust":
                return self.rust(block, section)
            case "python":
                name = block.opts.get("file", "app.py")
                (d / name).write_text(block.code)
                if not self.venv_python.exists():
                    raise CheckError(f"{where(block)}: no {self.venv_python} (build it: bash bindings-python/run-tests.sh)")
                return self.run([str(self.venv_python), "-W", "error", name], d, block)
            case "js":
                name = block.opts.get("file", "app.js")
                (d / name).write_text(block.code)
                modules = d / "node_modules"
                modules.mkdir(exist_ok=True)
                if not (modules / "litepool").exists():
                    (modules / "litepool").symlink_to(ROOT / "bindings-node")
                return self.run(["node", name], d, block)
            case "c":
                name = block.opts.get("file", "app.c")
                (d / name).write_text(block.code)
                self.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only",
                          f"-I{ROOT / 'include'}", name], d, block)
                section.c_files.append(name)
                return ""
            case "sh":
                env = dict(self.env, HOME=str(self.home))
                cwd = ROOT if block.opts.get("cwd") == "repo" else d
                section.sh_ran = True
                return self.run(["bash", "-euo", "pipefail", "-c", block.code], cwd, block, env)
        raise AssertionError(block.lang)

    def rust(self, block: Block, section: Section) -> str:
        project = section.directory / "rust-app"
        (project / "src").mkdir(parents=True, exist_ok=True)
        deps = section.cargo_deps or '[dependencies]\nlitepool = "0.1"\n'
        deps, n = re.subn(r"(?m)^(litepool\s*=\s*).*$",
                          lambda m: f'{m[1]}{{ path = "{ROOT / "pool-core"}" }}', deps)
        if n != 1:
            raise CheckError(f"{where(block)}: the Cargo.toml block must have one `litepool = ...` line")
        (project / "Cargo.toml").write_text(
            '[package]\nname = "readme-app"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
            "# Not a member of any enclosing workspace.\n[workspace]\n\n" + deps)
        (project / "src" / "main.rs").write_text(block.code)
        shutil.copy(ROOT / "Cargo.lock", project / "Cargo.lock")  # the versions already built
        env = dict(self.env, CARGO_TARGET_DIR=str(self.target))
        return self.run(["cargo", "run", "-q"], project, block, env)


def where(block: Block) -> str:
    rel = block.path.resolve().relative_to(ROOT) if block.path.resolve().is_relative_to(ROOT) else block.path
    return f"{rel}:{block.line} ({block.lang}, section {block.section!r})"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "section"


def check(path: Path, required: set[str], runner: Runner, n0: int) -> int:
    blocks = parse(path)
    missing = required - {b.lang for b in blocks}
    if missing:
        raise CheckError(f"{path}: no runnable block for {', '.join(sorted(missing))} (mark one with <!-- runnable -->)")
    sections: dict[str, Section] = {}

    def finish(section: Section, name: str) -> None:
        if section.c_files and not section.sh_ran:
            raise CheckError(f"{path}: section {name!r} has a runnable C block but no sh block that builds it")

    for block in blocks:
        if block.section not in sections:
            for name, done in sections.items():
                finish(done, name)
            n0 += 1
            directory = runner.base / f"{n0:02d}-{slug(block.section)}"
            directory.mkdir()
            sections = {block.section: Section(directory)}
        out = runner.block(block, sections[block.section])
        print(f"ok {where(block)}")
        for line in out.splitlines()[:12]:
            print(f"    {line}")
    for name, done in sections.items():
        finish(done, name)
    print(f"{path}: {len(blocks)} runnable blocks passed")
    return n0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--require", default="", help="languages each file must have a runnable block of")
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args()
    required = {LANGS.get(x.strip(), x.strip()) for x in args.require.split(",") if x.strip()}
    base = Path(tempfile.mkdtemp(prefix="litepool-readme."))
    runner = Runner(base)
    ok = False
    try:
        n = 0
        for f in args.files:
            n = check(f, required, runner, n)
        ok = True
    except CheckError as err:
        print(f"check-readme: {err}", file=sys.stderr)
    finally:
        if os.environ.get("LITEPOOL_README_KEEP") == "1" or not ok:
            print(f"(kept {base})" if os.environ.get("LITEPOOL_README_KEEP") == "1" else f"(work directory {base} kept for inspection)")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
