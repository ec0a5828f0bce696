# SPDX-License-Identifier: MIT
# libgreen's gdb commands: the greenlets of a live process or of a core file.
#
#   (gdb) source scripts/gdb/libgreen.py
#   (gdb) info greenlets
#   (gdb) greenlet bt ID|NAME|all [backtrace options]
#
# `info greenlets` lists every hub (its OS thread) and then every live greenlet of it: id,
# name, state, what it waits on (as green_dump says it: "fd 5 read", "mutex 0x...") and the
# function it is parked in, the first frame outside libgreen (as `info threads` shows a
# thread's frame). `*` marks the running greenlet of each hub.
#
# `greenlet bt N` prints the backtrace of greenlet N from its saved context; nothing is
# resumed. N is a greenlet id, a greenlet's name, or an expression: a green_t handle (what
# green_spawn returned), a record's address or an id. The running greenlet's backtrace is its thread's. The options after N go to gdb's
# `backtrace` (`greenlet bt 3 full`). `greenlet bt all` prints every greenlet's.
#
# Installed next to libgreen.so as libgreen.so.<version>-gdb.py, gdb loads it by itself once
# that directory is allowed: `add-auto-load-safe-path /usr/local/lib` in ~/.gdbinit.
#
# How: the greenlets are found through libgreen's debug info (a RelWithDebInfo or Debug
# build): the process's list of hubs green__hubs, each hub's handle table (handle_chunks),
# its main and hub greenlets. A switched-out greenlet's registers lie on its own stack (src/ctx-x86_64.S,
# src/ctx-aarch64.S) or in a ucontext_t (GREEN_CONTEXT=ucontext). Registers cannot be
# written in a core file, so instead of `set $pc` a Python frame unwinder (gdb >= 11) is
# armed for the one backtrace: it claims the selected thread's innermost frame and says its
# caller is the greenlet's parked frame; a frame filter hides that borrowed frame, so the
# greenlet's frames are numbered from #1.
#
# Limits: x86-64 and aarch64 (aarch64 untested: the d8-d15 registers are not restored, so
# floating-point locals of a parked aarch64 greenlet may print wrong); a greenlet caught
# halfway through a switch shows its previous context. A hibernated greenlet (parked longer
# than GREEN_HIBERNATE_MS) shows "(hibernated)": its stack's pages are released, and its bytes
# wait in the heap. Set GREEN_HIBERNATE_MS=0 to debug such greenlets. gdb 13's gcore cannot
# read a mapping that holds a guard region: it writes zeros for the stacks (use the kernel's
# core dump, or GREEN_GUARD_REGIONS=0).

import os
import time

import gdb
import gdb.types
import gdb.unwinder

GREEN_MAGIC = 0x6772656E  # "gren": a live handle (src/greenlet.h)
HIBERNATED = 0x80  # GREEN__HIBERNATED in a greenlet's flags (src/greenlet.h)
CHUNK_HANDLES = 64  # src/greenlet.c
EV_READ, EV_WRITE = 0x1, 0x2
MAX_FRAMES = 64  # frames searched for the one outside libgreen
MAX_LIST = 1 << 20  # a list longer than this is corrupt memory
# green_state_t, and green_wait_t as src/dump.c's wait_names says them, for a library whose
# debug info lacks them
STATES = ("new", "ready", "running", "blocked", "dead")
WAIT_KINDS = ("nothing", "fd", "sleep", "join", "group", "iwait", "mutex", "cond", "sem",
              "event", "rwlock", "queue", "chan", "select", "future", "dns", "threadpool",
              "generator", "futex", "call")


class LibgreenError(gdb.GdbError):
    pass


# ---- the inferior's structures ----------------------------------------------------------


def _type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise LibgreenError(
            "libgreen: no type %s: is libgreen loaded, with its debug info?" % name
        )


def _global(name):
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if sym is None:
        raise LibgreenError(
            "libgreen: no symbol %s: is libgreen loaded, with its debug info?" % name
        )
    return sym.value()


def _offset(struct_type, field):
    for f in struct_type.fields():
        if f.name == field:
            return f.bitpos // 8
    raise LibgreenError("libgreen: %s has no field %s" % (struct_type, field))


def _list_nodes(head):
    """The addresses of the nodes of a green__list_t (an lvalue), in order."""
    head_addr = int(head.address)
    node = head["next"]
    for _ in range(MAX_LIST):
        if int(node) == head_addr or int(node) == 0:
            return
        yield int(node)
        node = node.dereference()["next"]


def _enum(type_name, prefix, default):
    """{value: lower-case name without prefix} of an enum typedef; default without it."""
    try:
        values = gdb.types.make_enum_dict(gdb.lookup_type(type_name).strip_typedefs())
    except gdb.error:  # the debug info has only the types the library uses
        return dict(enumerate(default))
    return {int(v): k[len(prefix) :].lower() for k, v in values.items()}


def _wait_names():
    """dump.c's wait_names, read from the library when it can be."""
    names = dict(enumerate(WAIT_KINDS))
    try:
        syms = gdb.lookup_static_symbols("wait_names")
    except (AttributeError, gdb.error):
        syms = []
    for sym in syms:
        if sym.symtab is None or not sym.symtab.filename.endswith("dump.c"):
            continue
        try:
            table = sym.value()
            low, high = table.type.range()
            for i in range(low, high + 1):
                if int(table[i]) != 0:
                    names[i] = table[i].string()
        except gdb.error:
            pass
        break
    return names


def _c_string(address, limit=64):
    try:
        raw = bytes(gdb.selected_inferior().read_memory(address, limit))
    except gdb.MemoryError:
        return None
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class Layout:
    """The types and constants one command needs, looked up once per command."""

    def __init__(self):
        self.green = _type("struct green")
        self.hub = _type("struct green__hub")
        self.u32 = _type("unsigned int")
        self.u64 = _type("unsigned long")
        self.states = _enum("green_state_t", "GREEN_", STATES)
        self.wait_names = _wait_names()
        kinds = {v: k for k, v in _enum("green_wait_t", "GREEN_WAIT_", WAIT_KINDS).items()}
        self.wait_fd, self.wait_sleep = kinds["fd"], kinds["sleep"]
        self.wait_call, self.wait_mutex = kinds["call"], kinds["mutex"]
        self.magic_offset = _offset(self.green, "magic")
        self.src_dir = self._src_dir()

    @staticmethod
    def _src_dir():
        """The directory of libgreen's sources, to tell its frames in a static link."""
        sym = gdb.lookup_global_symbol("green__hub_schedule")
        if sym is None or sym.symtab is None:
            return None
        return os.path.dirname(sym.symtab.fullname())


class Hub:
    def __init__(self, layout, address):
        self.address = address
        self.value = gdb.Value(address).cast(layout.hub.pointer()).dereference()
        self.tid = int(self.value["tid"])
        self.current = int(self.value["current"])
        self.main = int(self.value["main"])
        self.hub_greenlet = int(self.value["hub"].address)
        self.greenlets = self._greenlets(layout)

    def _greenlets(self, layout):
        found = [Greenlet(layout, self, self.hub_greenlet), Greenlet(layout, self, self.main)]
        inferior = gdb.selected_inferior()
        size = layout.green.sizeof
        table = self.value["handle_chunks"]
        for c in range(int(self.value["nhandle_chunks"])):
            first = int(table[c])
            try:
                memory = inferior.read_memory(first, size * CHUNK_HANDLES)
            except gdb.MemoryError:
                continue
            for i in range(CHUNK_HANDLES):
                at = i * size + layout.magic_offset
                magic = gdb.Value(bytes(memory[at : at + 4]), layout.u32)
                if int(magic) == GREEN_MAGIC:
                    found.append(Greenlet(layout, self, first + i * size))
        found.sort(key=lambda g: g.id)
        return found

    def thread(self):
        """The gdb thread of the hub's OS thread, or None."""
        for t in gdb.selected_inferior().threads():
            if t.ptid[1] == self.tid:
                return t
        return None


def hubs(layout):
    head = _global("green__hubs")
    link = _offset(layout.hub, "all_link")
    return [Hub(layout, node - link) for node in _list_nodes(head)]


class Greenlet:
    def __init__(self, layout, hub, address):
        self.hub = hub
        self.address = address
        self.value = gdb.Value(address).cast(layout.green.pointer()).dereference()
        v = self.value
        self.id = int(v["id"])
        self.handle = int(v["handle"])  # what green_spawn returned for it
        self.name = _c_string(int(v["name"].address), int(v["name"].type.sizeof)) or ""
        if not self.name and int(v["ext"]) != 0:  # under greenrun: its thread record
            self.name = _thread_name(v["ext"])
        self.running = address == hub.current
        self.is_hub = address == hub.hub_greenlet
        self.is_main = address == hub.main
        self.state = self._state(layout)
        self.has_stack = self.is_main or int(v["stack"]) != 0

    def _state(self, layout):
        if self.running:
            return "running"
        if self.is_hub:  # switched out, it keeps the state it last ran with
            return "ready" if self._queued() else "idle"
        return layout.states.get(int(self.value["state"]), "?")

    def _queued(self):
        link = self.value["run_link"]
        return int(link["next"]) != int(link.address)

    def label(self):
        if self.name:
            return self.name
        if self.is_hub:
            return "(hub)"
        return "(main)" if self.is_main else ""

    def describe(self):
        words = ["greenlet %d" % self.id]
        if self.name:
            words.append('"%s"' % self.name)
        elif self.is_main or self.is_hub:
            words.append(self.label())
        return " ".join(words)

    def wait(self, layout, by_address, now):
        """What it waits on, and for how long when now is known; "" unless blocked."""
        if self.state != "blocked":
            return ""
        v = self.value
        kind = int(v["wait_kind"])
        name = layout.wait_names.get(kind, "kind %d" % kind)
        on = int(v["wait_on"].cast(layout.u64))
        if kind == layout.wait_fd:
            text = "fd %d %s" % (on, _direction(int(v["wait_events"])))
        elif kind == layout.wait_call:
            text = "call %s" % (_c_string(on) or hex(on))
        elif kind == layout.wait_sleep:
            text = "sleep" + (" in %s" % _c_string(on) if on else "")
        elif on in by_address:
            text = "%s greenlet %d" % (name, by_address[on].id)
        else:
            text = "%s %s" % (name, _address(on)) if on else name
        if kind == layout.wait_mutex and on:
            text += _mutex_owner(layout, on, by_address)
        since = float(v["wait_since"])
        if now is not None and now >= since:
            text += ", %.1f s" % (now - since)
        return text


def _address(address):
    """0x... <symbol> for a static object, as gdb prints a pointer."""
    return str(gdb.Value(address).cast(_type("void").pointer()))


def _mutex_owner(layout, address, by_address):
    try:
        m = gdb.Value(address).cast(_type("green_mutex_t").pointer()).dereference()
        owner = int(m["owner"].cast(layout.u64)) & ~7  # low bits: the owner word's flags
    except (gdb.error, LibgreenError):
        return ""
    return ", held by greenlet %d" % by_address[owner].id if owner in by_address else ""


def wait_clock_now():
    """The time wait_since is measured on (the hub's CLOCK_MONOTONIC_COARSE) in a live process
    on this machine; None for a core file or a remote target."""
    connection = getattr(gdb.selected_inferior(), "connection", None)
    if connection is None or connection.type != "native":
        return None
    return time.clock_gettime(getattr(time, "CLOCK_MONOTONIC_COARSE", 6))  # Linux: 6


def _thread_name(record):
    """Under greenrun, the program's name for its thread (pthread_setname_np)."""
    try:
        t = record.cast(gdb.lookup_type("green__shim_thread_t").pointer()).dereference()
        return _c_string(int(t["name"].address), int(t["name"].type.sizeof)) or ""
    except gdb.error:
        return ""


def _direction(events):
    words = [w for bit, w in ((EV_READ, "read"), (EV_WRITE, "write")) if events & bit]
    return "|".join(words) or "?"


# ---- a parked greenlet's registers ------------------------------------------------------


class Context:
    """A switched-out greenlet's saved registers: those of the frame that called the switch
    (for a context that never ran, of the trampoline it will start in)."""

    def __init__(self, registers, sp, pc, entry):
        self.registers = registers  # {gdb register name: value}
        self.sp = sp  # below every frame it holds: the borrowed frame's id
        self.pc = pc
        self.entry = entry  # the function a context that never ran will call

    def started(self):
        """False for a context made but never switched to: its pc starts a function."""
        text = gdb.execute("info symbol 0x%x" % self.pc, to_string=True)
        return text.startswith("No symbol") or " + " in text


def saved_context(layout, g):
    ctx = g.value["ctx"]
    arch = gdb.selected_inferior().architecture().name()
    if "uc" in [f.name for f in ctx.type.strip_typedefs().fields()]:
        return _ucontext(arch, ctx)
    sp = int(ctx["sp"])
    if sp == 0:
        return None
    words = gdb.Value(sp).cast(layout.u64.pointer())
    if arch.startswith("i386:x86-64"):
        # [0] MXCSR, x87 CW; [1] r15 r14 r13 r12 rbx rbp; [7] return address
        names = ("r15", "r14", "r13", "r12", "rbx", "rbp", "rip")
        regs = {n: int(words[i]) for i, n in enumerate(names, 1)}
        regs["rsp"] = sp + 64
        return Context(regs, sp, regs["rip"], regs["r12"])
    if arch.startswith("aarch64"):
        # [0] x19..x28 [10] x29 [11] x30 [12] d8..d15 [20] FPCR; 176 bytes
        regs = {"x%d" % (19 + i): int(words[i]) for i in range(12)}
        regs["pc"] = regs["x30"]
        regs["sp"] = sp + 176
        return Context(regs, sp, regs["pc"], regs["x19"])
    raise LibgreenError("libgreen: no context layout known for %s" % arch)


def _ucontext(arch, ctx):
    mc = ctx["uc"]["uc_mcontext"]
    entry = int(ctx["entry"])
    if arch.startswith("i386:x86-64"):
        gregs = mc["gregs"]  # glibc's REG_* indexes
        index = {"r12": 4, "r13": 5, "r14": 6, "r15": 7, "rbp": 10, "rbx": 11, "rsp": 15, "rip": 16}
        regs = {n: int(gregs[i]) for n, i in index.items()}
        return Context(regs, regs["rsp"] - 8, regs["rip"], entry)
    if arch.startswith("aarch64"):
        regs = {"x%d" % i: int(mc["regs"][i]) for i in range(19, 31)}
        regs["sp"] = int(mc["sp"])
        regs["pc"] = int(mc["pc"])
        return Context(regs, regs["sp"] - 16, regs["pc"], entry)
    raise LibgreenError("libgreen: no ucontext layout known for %s" % arch)


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class ParkedUnwinder(gdb.unwinder.Unwinder):
    """While armed, the selected thread's innermost frame unwinds to a parked greenlet."""

    def __init__(self):
        super().__init__("libgreen parked greenlet")
        self.armed = None  # the Context of the greenlet shown
        self.claimed_level = None  # the level of the frame it lent its caller to

    def __call__(self, pending_frame):
        if self.armed is None or self.claimed_level is not None:
            return None
        self.claimed_level = pending_frame.level()
        pc = pending_frame.read_register("pc")
        sp = gdb.Value(self.armed.sp).cast(_u64())
        info = pending_frame.create_unwind_info(_FrameId(sp, pc))
        for name, value in self.armed.registers.items():
            info.add_saved_register(name, gdb.Value(value).cast(_u64()))
        return info


def _u64():
    return gdb.lookup_type("unsigned long")


class HideBorrowedFrames:
    """A frame filter: while a greenlet is shown, the thread's own innermost frames go."""

    def __init__(self, unwinder):
        self.name = "libgreen-hide-borrowed-frames"
        self.priority = 100
        self.enabled = True
        self.unwinder = unwinder

    def filter(self, frames):
        if self.unwinder.armed is None:
            return frames
        return (f for f in frames if not self._borrowed(f.inferior_frame()))

    def _borrowed(self, frame):
        level = self.unwinder.claimed_level
        return level is not None and frame.level() <= level


_unwinder = ParkedUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)
_filter = HideBorrowedFrames(_unwinder)
gdb.frame_filters[_filter.name] = _filter


class SelectionKept:
    """Restores the selected thread and frame level on exit."""

    def __enter__(self):
        self.thread = gdb.selected_thread()
        try:
            self.level = gdb.selected_frame().level()
        except gdb.error:
            self.level = None
        return self

    def __exit__(self, *exc):
        if self.thread is not None and self.thread.is_valid():
            self.thread.switch()
        if self.level:
            try:
                gdb.execute("frame %d" % self.level, to_string=True)
            except gdb.error:
                pass


class Parked:
    """Within it, the selected thread's frames above the borrowed ones are g's."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        _unwinder.armed = self.context
        _unwinder.claimed_level = None
        gdb.invalidate_cached_frames()
        return self

    def __exit__(self, *exc):
        _unwinder.armed = None
        _unwinder.claimed_level = None
        gdb.invalidate_cached_frames()


def _on_thread(hub):
    thread = hub.thread()
    if thread is None:
        raise LibgreenError("libgreen: the hub's thread (LWP %d) is not in this process" % hub.tid)
    thread.switch()


# ---- where a greenlet is ----------------------------------------------------------------


def _in_libgreen(layout, frame):
    pc = frame.pc()
    solib = gdb.solib_name(pc)
    if solib is not None:
        return os.path.basename(solib).startswith("libgreen")
    sal = frame.find_sal()
    if sal.symtab is not None and layout.src_dir is not None:
        return os.path.dirname(sal.symtab.fullname()) == layout.src_dir
    return (frame.name() or "").startswith("green_")


def _frame_text(frame):
    name = frame.name() or "0x%x in ??" % frame.pc()
    sal = frame.find_sal()
    if sal.symtab is not None and sal.line:
        return "%s at %s:%d" % (name, os.path.basename(sal.symtab.filename), sal.line)
    solib = gdb.solib_name(frame.pc())
    return name + (" from %s" % os.path.basename(solib) if solib else "")


def _first_outside(layout, frame, skip_level=-1):
    """The first frame outside libgreen from frame outwards; when every frame is inside (the
    hub greenlet), the outermost but the context's trampoline."""
    outermost = None
    try:
        for _ in range(MAX_FRAMES):
            if frame is None:
                break
            if frame.level() > skip_level and frame.type() in (gdb.NORMAL_FRAME, gdb.INLINE_FRAME):
                if not _in_libgreen(layout, frame):
                    return _frame_text(frame)
                if not (frame.name() or "").startswith("green__ctx_"):
                    outermost = frame
            frame = frame.older()
    except gdb.error:
        pass
    return _frame_text(outermost) if outermost is not None else "?"


def _unstarted(g, context):
    """The function g will start in if it never ran, else None."""
    if g.state == "new":
        return _symbol_at(int(g.value["fn"]))
    if context is not None and not context.started():
        return _symbol_at(context.entry)  # the hub greenlet, before its first poll
    return None


def _hibernated(g):
    """Whether g's stack bytes are in the heap (src/hibernate.c): its pages cannot be read
    then. libgreen puts them back at its next switch, or when green_dump looks at it."""
    stack = g.value["stack"]
    return bool(int(g.value["flags"]) & HIBERNATED) and int(stack) != 0 and int(stack["hib"]) != 0


def where(layout, g):
    """The function g is parked in, for `info greenlets`."""
    if g.state == "dead" or not g.has_stack:
        return "-"
    if g.running:
        _on_thread(g.hub)
        return _first_outside(layout, gdb.newest_frame())
    if _hibernated(g):
        return "(hibernated)"
    context = saved_context(layout, g)
    entry = _unstarted(g, context)
    if entry is not None:
        return "%s (not started)" % entry
    if context is None:
        return "?"
    with Parked(context):
        frame = gdb.newest_frame()
        try:
            frame.older()  # the unwinder claims its frame here
        except gdb.error:
            return "?"
        return _first_outside(layout, frame, _unwinder.claimed_level)


def _symbol_at(address):
    block = gdb.block_for_pc(address) if address else None
    while block is not None and block.function is None:
        block = block.superblock
    if block is not None:
        return block.function.print_name
    text = gdb.execute("info symbol 0x%x" % address, to_string=True)
    return "0x%x" % address if text.startswith("No symbol") else text.split()[0]


# ---- the commands -----------------------------------------------------------------------


def _table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip())


def _hub_title(hub):
    thread = hub.thread()
    where_ = "thread %d (LWP %d)" % (thread.num, hub.tid) if thread else "LWP %d" % hub.tid
    return "Hub 0x%x of %s, %d greenlets:" % (hub.address, where_, len(hub.greenlets))


class InfoGreenlets(gdb.Command):
    """Every libgreen hub and its greenlets: id, name, state, what it waits on, where.

Usage: info greenlets
The function shown is the first frame outside libgreen. `*` marks the running
greenlet of each hub. See `greenlet bt` for a greenlet's backtrace."""

    def __init__(self):
        super().__init__("info greenlets", gdb.COMMAND_STATUS, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        layout = Layout()
        found = hubs(layout)
        if not found:
            print("No libgreen hubs.")
            return
        by_address = {g.address: g for h in found for g in h.greenlets}
        now = wait_clock_now()
        with SelectionKept():
            for hub in found:
                rows = [("", "Id", "Name", "State", "Waits on", "Where")]
                for g in hub.greenlets:
                    rows.append(
                        (
                            "*" if g.running else "",
                            str(g.id),
                            g.label(),
                            g.state,
                            g.wait(layout, by_address, now),
                            where(layout, g),
                        )
                    )
                print(_hub_title(hub))
                _table(rows)


class GreenletPrefix(gdb.Command):
    """Commands for libgreen's greenlets: greenlet bt."""

    def __init__(self):
        super().__init__("greenlet", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)


class GreenletBacktrace(gdb.Command):
    """The backtrace of a greenlet, from its saved context, resuming nothing.

Usage: greenlet bt ID|NAME|EXPRESSION|all [backtrace options]
ID is a greenlet id (see `info greenlets`), NAME a greenlet's name, EXPRESSION
a green_t pointer or an id. The running greenlet's backtrace is its thread's.
The greenlet's own frames are numbered from #1. The options go to `backtrace`:
`greenlet bt 3 full`."""

    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        words = arg.split(None, 1)
        if not words:
            raise LibgreenError("usage: greenlet bt ID|NAME|EXPRESSION|all [backtrace options]")
        options = words[1] if len(words) > 1 else ""
        layout = Layout()
        everyone = [g for h in hubs(layout) for g in h.greenlets]
        chosen = everyone if words[0] == "all" else [_find(everyone, words[0])]
        with SelectionKept():
            for i, g in enumerate(chosen):
                if i:
                    print()
                _backtrace(layout, g, options)


def _find(everyone, word):
    if word.isdigit():
        matches = [g for g in everyone if g.id == int(word)]
    else:
        matches = [g for g in everyone if word in (g.name, g.label())]
        if not matches:
            try:
                value = gdb.parse_and_eval(word)
            except gdb.error as e:
                raise LibgreenError("libgreen: %s is no greenlet id, name or expression: %s"
                                    % (word, e))
            code = value.type.strip_typedefs().code
            if code == gdb.TYPE_CODE_PTR:
                matches = [g for g in everyone if int(value) in (g.address, g.handle)]
            elif code == gdb.TYPE_CODE_INT:
                matches = [g for g in everyone if g.id == int(value)]
    if not matches:
        raise LibgreenError("libgreen: no live greenlet %s" % word)
    return matches[0]


def _backtrace(layout, g, options):
    print("%s (%s) of LWP %d:" % (g.describe(), g.state, g.hub.tid))
    if g.state == "dead" or not g.has_stack:
        print("(it has ended: its stack is gone)")
        return
    if g.running:
        _on_thread(g.hub)
        gdb.execute("backtrace " + options)
        return
    if _hibernated(g):
        print("(hibernated: its stack's bytes are in the heap until it runs or green_dump looks)")
        return
    context = saved_context(layout, g)
    entry = _unstarted(g, context)
    if entry is not None:
        print("(not started: it will run %s)" % entry)
    elif context is None:
        print("(no saved context)")
    else:
        with Parked(context):
            gdb.execute("backtrace " + options)


InfoGreenlets()
GreenletPrefix()
GreenletBacktrace("greenlet bt")
GreenletBacktrace("greenlet backtrace")
