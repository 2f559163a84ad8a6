# Prints the module dependency graph of one crate as "from to" lines (the
# input of tsort): awk -f module-deps.awk SRC_DIR FILE..., the files being
# the crate's root (lib.rs or main.rs) and its modules. Modules are named by
# path, the root being `crate` (`crate::sys::memfd`).
#
# A module depends on another when its code names it: a path starting with
# `crate::`, `$crate::`, `super::` or `self::`, in a `use` or anywhere else,
# or a path starting with one of its own child modules. A path to an item
# counts for the module that defines it, following `pub use` re-exports, so
# `crate::Error` counts as a use of the module that defines `Error`.
# Declaring a child (`mod x;`) and re-exporting its items (`pub use x::Item;`)
# make a module its child's facade, not its user; comments (so doc links) and
# one-line string literals do not count; the code of an inline
# `mod tests { ... }` counts for its file. POSIX awk (mawk), no extensions.

BEGIN { SRC = ARGV[1]; ARGV[1] = "" }

FNR == 1 {
    nfiles++
    rel = substr(FILENAME, length(SRC) + 2)
    sub(/\.rs$/, "", rel)
    sub(/(^|\/)mod$/, "", rel)
    mod = (rel == "lib" || rel == "main" || rel == "") ? "crate" : "crate::" rel
    gsub(/\//, "::", mod)
    file_mod[nfiles] = mod
    is_mod[mod] = 1
}
{ lines[nfiles, FNR] = $0; nlines[nfiles] = FNR }

# The items a module defines, so that `use Item as Alias;` is not taken for
# another crate's path.
/^[ \t]*(pub(\([a-z]+\))?[ \t]+)?(const[ \t]+|unsafe[ \t]+|extern[ \t]+"C"[ \t]+)*(struct|enum|union|trait|type|fn|const|static)[ \t]+[A-Za-z_]/ {
    name = $0
    sub(/^[ \t]*(pub(\([a-z]+\))?[ \t]+)?(const[ \t]+|unsafe[ \t]+|extern[ \t]+"C"[ \t]+)*(struct|enum|union|trait|type|fn|const|static)[ \t]+/, "", name)
    sub(/[^A-Za-z_0-9].*$/, "", name)
    defines[mod, name] = 1
}

END {
    for (pass = 1; pass <= 2; pass++)
        for (f = 1; f <= nfiles; f++)
            scan(f, pass)
    for (e in edge) print e
}

function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }

function parent(m) { if (m == "crate") return ""; sub(/::[^:]+$/, "", m); return m }

function count(s, ch,   n) { n = gsub(ch, "", s); return n }

# The code of a line: string and char literals emptied, comments removed.
function code(s) {
    gsub(/"([^"\\]|\\.)*"/, "\"\"", s)
    gsub(/'([^'\\]|\\.)'/, "''", s)
    sub(/\/\/.*$/, "", s)
    return s
}

# Goes through file f: pass 1 records its `pub use` re-exports, pass 2 its
# dependencies.
function scan(f, pass,   i, s, depth, inline, inline_depth, m, name) {
    depth = 0; inline = ""
    for (i = 1; i <= nlines[f]; i++) {
        s = code(lines[f, i])
        if (inline == "" && match(s, /^[ \t]*(pub(\([a-z]+\))?[ \t]+)?mod[ \t]+[A-Za-z_0-9]+[ \t]*\{/)) {
            name = s
            sub(/^[ \t]*(pub(\([a-z]+\))?[ \t]+)?mod[ \t]+/, "", name)
            sub(/[ \t]*\{.*$/, "", name)
            inline = name; inline_depth = depth
        }
        m = inline == "" ? file_mod[f] : file_mod[f] "::" inline
        if (s ~ /^[ \t]*(pub(\([a-z]+\))?[ \t]+)?use[ \t]/) {
            while (s !~ /;/ && i < nlines[f])
                s = s " " code(lines[f, ++i])
            use_statement(f, m, s, pass)
        } else if (pass == 2) {
            expression(f, m, s)
        }
        depth += count(s, "[{]") - count(s, "[}]")
        if (inline != "" && depth <= inline_depth) inline = ""
    }
}

function use_statement(f, m, stmt, pass,   is_pub, k, p) {
    is_pub = stmt ~ /^[ \t]*pub/
    sub(/^[ \t]*(pub(\([a-z]+\))?[ \t]+)?use[ \t]+/, "", stmt)
    sub(/;.*$/, "", stmt)
    npaths = 0
    expand("", stmt)
    for (k = 1; k <= npaths; k++) {
        p = absolute(m, paths[k])
        if (pass == 1 && is_pub && m == file_mod[f])
            reexport[m, names[k]] = p
        if (pass == 2 && p != "" && !(is_pub && facade(m, paths[k])))
            depend(f, resolve(p, 0))
    }
}

# Whether `path`, written in module m, names m's own child.
function facade(m, path,   first) {
    first = path
    sub(/::.*$/, "", first)
    if (first == "self") return 1
    return (m "::" first) in is_mod
}

# Splits a use tree into paths[1..npaths] (globals) and the names they bind,
# names[1..npaths].
function expand(prefix, tree,   i, c, d, start) {
    d = 0; start = 1
    for (i = 1; i <= length(tree); i++) {
        c = substr(tree, i, 1)
        if (c == "{") d++
        else if (c == "}") d--
        else if (c == "," && d == 0) {
            expand_one(prefix, substr(tree, start, i - start))
            start = i + 1
        }
    }
    expand_one(prefix, substr(tree, start))
}

function expand_one(prefix, e,   p, head, inner, alias) {
    e = trim(e)
    if (e == "") return
    if ((p = index(e, "{")) > 0) {
        head = trim(substr(e, 1, p - 1))
        sub(/::$/, "", head)
        inner = substr(e, p + 1)
        sub(/\}[ \t]*$/, "", inner)
        expand(join(prefix, head), inner)
        return
    }
    alias = ""
    if (match(e, /[ \t]+as[ \t]+/)) {
        alias = trim(substr(e, RSTART + RLENGTH))
        e = substr(e, 1, RSTART - 1)
    }
    paths[++npaths] = e == "self" ? prefix : join(prefix, e)
    if (alias == "") { alias = paths[npaths]; sub(/^.*::/, "", alias) }
    names[npaths] = alias
}

function join(a, b) { return a == "" ? b : b == "" ? a : a "::" b }

# Paths anywhere in a line of code: crate::/super::/self:: ones and, in a
# module with children, the ones that start with a child.
function expression(f, m, s,   t, pre, path, first) {
    t = s
    while (match(t, /\$?[A-Za-z_][A-Za-z_0-9]*(::[A-Za-z_][A-Za-z_0-9]*)+/)) {
        pre = RSTART > 1 ? substr(t, RSTART - 1, 1) : ""
        path = substr(t, RSTART, RLENGTH)
        t = substr(t, RSTART + RLENGTH)
        if (pre ~ /[:A-Za-z_0-9]/) continue
        sub(/^\$/, "", path)
        first = path
        sub(/::.*$/, "", first)
        if (first == "crate" || first == "super" || first == "self" || (m "::" first) in is_mod)
            depend(f, resolve(absolute(m, path), 0))
    }
}

# The path written in module m, from the crate root; "" if it is another crate's.
function absolute(m, path,   first, rest) {
    first = path; rest = path
    sub(/::.*$/, "", first)
    if (index(rest, "::") > 0) sub(/^[^:]*::/, "", rest); else rest = ""
    if (first == "crate" || first == "$crate") return join("crate", rest)
    if (first == "self") return join(m, rest)
    if (first == "super") return m == "crate" ? "" : absolute(parent(m), join("self", rest))
    if ((m "::" first) in is_mod) return join(m "::" first, rest)
    if ((m, first) in defines) return join(m, path)
    return ""
}

# The module that defines what the absolute path p names.
function resolve(p, hops,   mod, rest, seg) {
    if (p == "" || hops > 16) return ""
    mod = "crate"
    rest = p
    sub(/^crate(::)?/, "", rest)
    while (rest != "") {
        seg = rest
        sub(/::.*$/, "", seg)
        if ((mod "::" seg) in is_mod) {
            mod = mod "::" seg
            if (index(rest, "::") > 0) sub(/^[^:]*::/, "", rest); else rest = ""
            continue
        }
        if ((mod, seg) in reexport) return resolve(reexport[mod, seg], hops + 1)
        break
    }
    return mod
}

function depend(f, to) {
    if (to != "" && to != file_mod[f]) edge[file_mod[f] " " to] = 1
}
