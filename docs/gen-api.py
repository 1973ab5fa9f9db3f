#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate docs/api.md from the kernel-doc comments of the public headers.

  gen-api.py [--include DIR] --output docs/api.md     write the reference
  gen-api.py [--include DIR] --check docs/api.md      exit 1 if it is stale
  gen-api.py [--include DIR] --stdout                 print it

DIR defaults to include/vfionoiommu next to this script's parent. The
headers are taken in the order the umbrella header vfionoiommu.h includes
them (version.h comes from version.h.in), then the ones it leaves out
(util.h), by name.

Both modes also lint the headers and fail (exit 1) when a public function
(a prototype named vni_*) has no kernel-doc comment ("name() - summary"),
when a parameter of its prototype is not documented (@name:), when a
documented parameter does not exist, or when it has no "Return:" section
and does not return void.

Standard library only.
"""

import argparse
import difflib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_INCLUDE = os.path.join(HERE, "..", "include", "vfionoiommu")

# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

DOC_RE = re.compile(r"/\*\*(.*?)\*/", re.S)
TITLE_FUNC = re.compile(r"^(\w+)\(\)\s+-\s+(.*)$")
TITLE_AGG = re.compile(r"^(struct|enum|union)\s+(\w+)\s+-\s+(.*)$")
TITLE_TYPEDEF = re.compile(r"^typedef\s+(\w+)\s+-\s+(.*)$")
TITLE_MACRO = re.compile(r"^([A-Z][A-Z0-9_]*(?:\([^)]*\))?(?:,\s*[A-Z][A-Z0-9_]*)*)\s+-\s+(.*)$")
PARAM_RE = re.compile(r"^@(\w+|\.\.\.):\s*(.*)$")
SECTION_RE = re.compile(r"^(Return|Returns|Context|Note|Notes|Example|Errors):\s*(.*)$")


def doc_lines(body):
    """Strip the leading ' * ' of each line of a /** ... */ body."""
    lines = body.split("\n")
    out = []
    for ln in lines:
        s = ln.strip()
        if s.startswith("*"):
            s = ln[ln.index("*") + 1:]
            if s.startswith(" "):
                s = s[1:]
        else:
            s = ln.strip()
        out.append(s.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


class Doc:
    def __init__(self, kind, name, summary, params, desc, sections, code):
        self.kind = kind          # function, struct, enum, union, typedef, macro, untitled
        self.name = name
        self.summary = summary
        self.params = params      # [(name, text)]
        self.desc = desc          # [paragraph lines]
        self.sections = sections  # [(title, [lines])]
        self.code = code          # declaration text


def parse_doc(body):
    lines = doc_lines(body)
    if not lines:
        return None
    first = lines[0].strip()
    kind, name, summary = "untitled", None, first
    m = TITLE_FUNC.match(first)
    if m:
        kind, name, summary = "function", m.group(1), m.group(2)
    else:
        m = TITLE_AGG.match(first)
        if m:
            kind, name, summary = m.group(1), m.group(2), m.group(3)
        else:
            m = TITLE_TYPEDEF.match(first)
            if m:
                kind, name, summary = "typedef", m.group(1), m.group(2)
            else:
                m = TITLE_MACRO.match(first)
                if m:
                    kind, name, summary = "macro", m.group(1), m.group(2)
    rest = lines[1:] if kind != "untitled" else lines[1:]
    params, desc, sections = [], [], []
    cur = None  # ('param', idx) | ('section', idx) | ('desc',)
    for ln in rest:
        if not ln.strip():
            if cur and cur[0] == "section":
                sections[cur[1]][1].append("")
            else:
                desc.append("")
                cur = ("desc",)
            continue
        m = PARAM_RE.match(ln.strip())
        if m and (cur is None or cur[0] == "param"):
            params.append([m.group(1), m.group(2).strip()])
            cur = ("param", len(params) - 1)
            continue
        m = SECTION_RE.match(ln.strip())
        if m:
            title = "Return" if m.group(1) in ("Return", "Returns") else m.group(1)
            sections.append((title, [m.group(2)] if m.group(2) else []))
            cur = ("section", len(sections) - 1)
            continue
        if cur and cur[0] == "param":
            params[cur[1]][1] += " " + ln.strip()
            continue
        if cur and cur[0] == "section":
            sections[cur[1]][1].append(ln)
            continue
        desc.append(ln)
        cur = ("desc",)
    # trim blank lines
    while desc and not desc[0].strip():
        desc.pop(0)
    while desc and not desc[-1].strip():
        desc.pop()
    for _, body_lines in sections:
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
    return Doc(kind, name, summary, [tuple(p) for p in params], desc, sections, "")


def strip_comments(text):
    """Remove comments, keep newlines (positions roughly stable)."""
    def repl(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/", repl, text, flags=re.S)
    return re.sub(r"//[^\n]*", repl, text)


def following_decl(text, pos):
    """The declaration that starts after position pos (after a doc comment):
    (kind, name, code). Skips blank lines."""
    rest = text[pos:]
    m = re.match(r"\s*", rest)
    start = pos + m.end()
    rest = text[start:]
    if rest.startswith("#define"):
        # a run of #define lines (with continuations), until a blank line or
        # something else
        lines = []
        for ln in rest.split("\n"):
            if lines and not ln.strip():
                break
            if not lines or ln.startswith("#define") or (lines and lines[-1].endswith("\\")):
                lines.append(ln)
                continue
            break
        names = [re.match(r"#define\s+(\w+)", ln).group(1) for ln in lines
                 if ln.startswith("#define")]
        return "macro", names, "\n".join(lines)
    if rest.startswith("/*") or rest.startswith("#"):
        return None, None, ""
    # C declaration: up to ';' at brace depth 0
    depth = 0
    for i, ch in enumerate(rest):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            code = rest[:i + 1]
            clean = strip_comments(code)
            m = re.match(r"\s*typedef\b.*?\(\s*\*\s*(\w+)\s*\)", clean, re.S)
            if m:
                return "typedef", m.group(1), code
            m = re.match(r"\s*(struct|enum|union)\s+(\w+)\s*(\{|;)", clean)
            if m:
                return m.group(1), m.group(2), code
            m = re.search(r"\b(\w+)\s*\(", clean)
            if m:
                return "function", m.group(1), code
            return None, None, code
    return None, None, ""


def split_args(arglist):
    args, depth, cur = [], 0, ""
    for ch in arglist:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur)
    return [a.strip() for a in args]


def param_names(proto):
    clean = " ".join(strip_comments(proto).split())
    m = re.match(r"^(.*?)\b(\w+)\s*\((.*)\)\s*;$", clean)
    if not m:
        return None, []
    ret = m.group(1).strip()
    names = []
    for a in split_args(m.group(3)):
        if a in ("void", ""):
            continue
        if a == "...":
            names.append("...")
            continue
        fm = re.search(r"\(\s*\*\s*(\w+)\s*\)", a)
        if fm:
            names.append(fm.group(1))
            continue
        am = re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", a)
        names.append(am.group(1) if am else a)
    return ret, names


def prototypes(text):
    """Every top-level function prototype named vni_*: {name: code}."""
    clean = strip_comments(text)
    clean = re.sub(r"#ifdef\s+__cplusplus.*?#endif", "", clean, flags=re.S)
    clean = "\n".join("" if ln.lstrip().startswith("#") else ln for ln in clean.split("\n"))
    out = {}
    depth, cur = 0, ""
    for ch in clean:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        cur += ch
        if ch == ";" and depth == 0:
            stmt = " ".join(cur.split())
            cur = ""
            if stmt.startswith("typedef") or stmt.startswith("extern \"C\""):
                continue
            m = re.match(r"^[^{}()=]*?\b(vni_\w+)\s*\(", stmt)
            if m and "{" not in stmt:
                out[m.group(1)] = stmt
        elif ch == "}" and depth == 0:
            cur = ""
    return out


def file_comment(text):
    """The header's leading plain comment (after the SPDX line), as lines."""
    for m in re.finditer(r"/\*(?!\*)(.*?)\*/", text, re.S):
        body = m.group(1)
        if "SPDX-License-Identifier" in body:
            continue
        return doc_lines(body)
    return []


def header_order(include):
    umb = open(os.path.join(include, "vfionoiommu.h")).read()
    names = re.findall(r"#include\s+<vfionoiommu/([\w.]+)>", umb)
    out = ["vfionoiommu.h"]
    for n in names:
        if n not in out:
            out.append(n)
    # Headers the umbrella leaves out (util.h) follow, by name.
    for n in sorted(os.listdir(include)):
        if n.endswith(".h") and n not in out:
            out.append(n)
    return out


def header_path(include, name):
    p = os.path.join(include, name)
    if not os.path.exists(p) and os.path.exists(p + ".in"):
        return p + ".in"
    return p


def parse_header(path):
    text = open(path).read()
    items = []
    covered_macros = set()
    for m in DOC_RE.finditer(text):
        doc = parse_doc(m.group(1))
        if doc is None:
            continue
        kind, name, code = following_decl(text, m.end())
        if doc.kind == "untitled":
            if kind is None:
                continue
            doc.kind = kind
            doc.name = ", ".join(name) if isinstance(name, list) else name
        doc.code = code
        if kind == "macro":
            covered_macros.update(name)
        items.append(doc)
    # plain #define blocks (with their plain one-line comments) not covered
    consts = []
    block = []
    lines = text.split("\n")
    guard = None
    gm = re.search(r"#ifndef\s+(\w+_H)\s*\n#define\s+\1", text)
    if gm:
        guard = gm.group(1)
    in_doc = False
    for ln in lines + [""]:
        s = ln.strip()
        if s.startswith("/**") and not s.endswith("*/"):
            in_doc = True
        if in_doc:
            if s.endswith("*/"):
                in_doc = False
            continue
        dm = re.match(r"#define\s+(\w+)", s)
        if dm and dm.group(1) not in covered_macros and dm.group(1) != guard and \
                dm.group(1).startswith("VNI_") and dm.group(1) != "VNI_PRINTF":
            block.append(ln)
            continue
        if block and block[-1].rstrip().endswith("\\"):
            block.append(ln)
            continue
        if s.startswith("/*") and s.endswith("*/") and not s.startswith("/**") and \
                "SPDX" not in s:
            if block and not block[-1].startswith("/*"):
                consts.append(block)
                block = []
            block = [ln] if not block else block + [ln]
            continue
        if block:
            if any(re.match(r"#define", b.strip()) for b in block):
                consts.append(block)
            block = []
    return text, file_comment(text), items, consts


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

INLINE_RE = re.compile(
    r"(?P<code>`[^`]*`)"
    r"|\*@(?P<deref>\w+)"
    r"|@(?P<param>\w+)"
    r"|(?P<path>(?<![\w/.>])/(?:dev|sys|proc|run)(?:/[A-Za-z0-9_.<>+*-]*[A-Za-z0-9_<>+*-])+/?)"
    r"|(?P<ident>\b[A-Za-z_][A-Za-z0-9_]*\(\)|\b[A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]\b)"
    r"|(?P<esc>[*<>|\\])"
)


def inline(s):
    def repl(m):
        if m.group("code"):
            return m.group("code")
        if m.group("deref"):
            return "`*%s`" % m.group("deref")
        if m.group("param"):
            return "`%s`" % m.group("param")
        if m.group("path"):
            return "`%s`" % m.group("path")
        if m.group("ident"):
            return "`%s`" % m.group("ident")
        c = m.group("esc")
        return {"<": "&lt;", ">": "&gt;"}.get(c, "\\" + c)
    return INLINE_RE.sub(repl, s)


def render_text(lines):
    """Free text of a comment: paragraphs, '- ' lists, indented code blocks,
    'Title' + '-----' headings."""
    out = []
    i = 0
    prev_blank = True
    in_list = False
    while i < len(lines):
        ln = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if ln.strip() and re.match(r"^-{3,}$", nxt.strip()):
            if out and out[-1] != "":
                out.append("")
            out.append("#### " + ln.strip())
            out.append("")
            i += 2
            prev_blank = True
            in_list = False
            continue
        if not ln.strip():
            if out and out[-1] != "":
                out.append("")
            prev_blank = True
            in_list = False
            i += 1
            continue
        if re.match(r"^\s*- ", ln):
            out.append("- " + inline(ln.strip()[2:]))
            in_list = True
            prev_blank = False
            i += 1
            continue
        if in_list and ln.startswith("  "):
            out[-1] += " " + inline(ln.strip())
            i += 1
            continue
        if prev_blank and ln.startswith("  "):
            block = []
            while i < len(lines) and (lines[i].startswith("  ") or not lines[i].strip()):
                if not lines[i].strip():
                    nx = lines[i + 1] if i + 1 < len(lines) else ""
                    if not nx.startswith("  "):
                        break
                block.append(lines[i])
                i += 1
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            out.append("```")
            out.extend(b[indent:] if b.strip() else "" for b in block)
            out.append("```")
            out.append("")
            prev_blank = True
            continue
        if out and not prev_blank and out[-1] and not out[-1].startswith(("#", "```")):
            out[-1] += " " + inline(ln.strip())
        else:
            out.append(inline(ln.strip()))
        prev_blank = False
        i += 1
    while out and out[-1] == "":
        out.pop()
    return out


def anchor(title):
    a = title.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def render_item(doc):
    out = []
    if doc.kind == "function":
        title = "%s()" % doc.name
    elif doc.kind in ("struct", "enum", "union"):
        title = "%s %s" % (doc.kind, doc.name)
    elif doc.kind == "typedef":
        title = "typedef %s" % doc.name
    else:
        title = doc.name
    out.append("### %s" % title)
    out.append("")
    summary = doc.summary.strip()
    if summary:
        if summary[-1] not in ".?!":
            summary += "."
        out.append(inline(summary[0].upper() + summary[1:]))
        out.append("")
    if doc.code.strip():
        out.append("```c")
        out.extend(doc.code.rstrip().split("\n"))
        out.append("```")
        out.append("")
    if doc.params:
        label = {"function": "Parameters", "typedef": "Parameters"}.get(doc.kind, "Members")
        out.append("**%s:**" % label)
        out.append("")
        for name, text in doc.params:
            out.append("- `%s`: %s" % (name, inline(text)))
        out.append("")
    if doc.desc:
        out.extend(render_text(doc.desc))
        out.append("")
    for title, body in doc.sections:
        text = render_text(body)
        if title == "Return":
            if text:
                out.append("**Returns:** " + text[0])
                out.extend(text[1:])
        else:
            out.append("**%s:** " % title + (text[0] if text else ""))
            out.extend(text[1:])
        out.append("")
    return out


def generate(include):
    order = header_order(include)
    parsed = []
    for name in order:
        path = header_path(include, name)
        text, fcomment, items, consts = parse_header(path)
        parsed.append((name, path, text, fcomment, items, consts))

    out = []
    out.append("<!-- Generated by docs/gen-api.py from include/vfionoiommu/*.h: do not edit. -->")
    out.append("<!-- Regenerate: python3 docs/gen-api.py --output docs/api.md -->")
    out.append("")
    out.append("# libvfionoiommu API reference")
    out.append("")
    out.append("Every public declaration of the library, header by header, from the")
    out.append("kernel-doc comments in `include/vfionoiommu/`. Include the umbrella header")
    out.append("`<vfionoiommu/vfionoiommu.h>`; link with `pkg-config --libs vfionoiommu`.")
    out.append("For the concepts and a walk-through see [usage.md](usage.md); for what")
    out.append("happens underneath see [how-it-works.md](how-it-works.md).")
    out.append("")
    out.append("## Contents")
    out.append("")
    for name, path, text, fcomment, items, consts in parsed:
        if not items and not consts:
            continue
        title = header_title(name, fcomment)
        out.append("- [%s](#%s)" % (title, anchor(title)))
        funcs = [d for d in items if d.kind == "function"]
        if funcs:
            out.append("  - " + ", ".join("[`%s()`](#%s)" % (d.name, anchor(d.name + "()"))
                                          for d in funcs))
    out.append("")
    for name, path, text, fcomment, items, consts in parsed:
        title = header_title(name, fcomment)
        out.append("## %s" % title)
        out.append("")
        body = list(fcomment)
        while body and body[0].strip():  # the title paragraph
            body.pop(0)
        while body and not body[0].strip():
            body.pop(0)
        if body:
            out.extend(render_text(body))
            out.append("")
        for doc in items:
            out.extend(render_item(doc))
        if consts:
            out.append("### Other constants of %s" % name)
            out.append("")
            out.append("```c")
            for i, block in enumerate(consts):
                if i:
                    out.append("")
                out.extend(b.rstrip() for b in block)
            out.append("```")
            out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def header_title(name, fcomment):
    para = []
    for ln in fcomment:
        if not ln.strip():
            break
        para.append(ln.strip())
    head = " ".join(para)
    head = re.sub(r"^libvfionoiommu\s*-\s*", "", head).rstrip(".")
    return "%s: %s" % (name, head) if head else name


# ---------------------------------------------------------------------------
# Lint
# ---------------------------------------------------------------------------

def lint(include):
    problems = []
    for name in header_order(include):
        path = header_path(include, name)
        text, _, items, _ = parse_header(path)
        docs = {d.name: d for d in items if d.kind == "function"}
        for fname, proto in sorted(prototypes(text).items()):
            rel = os.path.basename(path)
            d = docs.get(fname)
            if d is None:
                problems.append("%s: %s() has no kernel-doc comment ('/**' + '%s() - summary')"
                                % (rel, fname, fname))
                continue
            ret, names = param_names(proto)
            documented = [p for p, _ in d.params]
            for n in names:
                if n not in documented:
                    problems.append("%s: %s(): parameter '%s' is not documented (@%s:)"
                                    % (rel, fname, n, n))
            for n in documented:
                if n not in names:
                    problems.append("%s: %s(): documents '@%s', which the prototype does not have"
                                    % (rel, fname, n))
            if ret is not None and ret.split()[-1:] != ["void"] and \
                    not any(t == "Return" for t, _ in d.sections):
                problems.append("%s: %s(): no 'Return:' section" % (rel, fname))
        for d in items:
            if d.kind == "function" and d.name not in prototypes(text):
                problems.append("%s: kernel-doc for %s() but no such prototype follows it"
                                % (os.path.basename(path), d.name))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--include", default=DEFAULT_INCLUDE,
                    help="directory of the public headers (default: %(default)s)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--output", help="write the reference to this file")
    g.add_argument("--check", help="compare with this file; exit 1 if it differs")
    g.add_argument("--stdout", action="store_true", help="print the reference")
    a = ap.parse_args()

    problems = lint(a.include)
    for p in problems:
        print("gen-api: %s" % p, file=sys.stderr)
    md = generate(a.include)
    if a.stdout:
        sys.stdout.write(md)
    elif a.output:
        tmp = a.output + ".tmp"
        with open(tmp, "w") as f:
            f.write(md)
        os.replace(tmp, a.output)
    else:
        try:
            cur = open(a.check).read()
        except OSError as e:
            print("gen-api: cannot read %s: %s" % (a.check, e), file=sys.stderr)
            return 1
        if cur != md:
            diff = list(difflib.unified_diff(cur.splitlines(), md.splitlines(),
                                             a.check + " (committed)", "generated", lineterm="",
                                             n=1))
            sys.stderr.write("\n".join(diff[:60]) + "\n")
            if len(diff) > 60:
                print("gen-api: ... (%d more diff lines)" % (len(diff) - 60), file=sys.stderr)
            print("gen-api: %s is stale: the headers changed. Regenerate it:\n"
                  "  python3 docs/gen-api.py --output docs/api.md\n"
                  "(or: ninja -C BUILDDIR update-api-doc)" % a.check, file=sys.stderr)
            return 1
        print("gen-api: %s is up to date" % a.check)
    if problems:
        print("gen-api: %d problem(s) in the headers' kernel-doc comments" % len(problems),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
