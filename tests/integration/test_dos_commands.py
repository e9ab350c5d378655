"""Use FreeDOS as a person would: type commands at the prompt, drive full-screen
programs with the keyboard and read the results off the screen.  Every wait is in
virtual time."""
import pytest

from pyvmm.machine import Machine
from pyvmm.storage.fat import FatVolume
from pyvmm.storage.image import DiskImage
from tests.helpers import shared_image
from tests.integration.test_boot import HIMEM_LINE

PROMPT = "A:\\>"


def screen(m):
    return "\n".join(row.rstrip() for row in m.screen_text())


def at_prompt(prompt=PROMPT):
    """Predicate: the last non-blank line is the bare prompt (the command finished)."""
    return lambda m: screen(m).rstrip().endswith(prompt)


def command(m, text, prompt=PROMPT, timeout=20):
    m.type_text(text + "\n")
    assert m.run_until(at_prompt(prompt), timeout=timeout), screen(m)
    return screen(m)


def boot(path, **options):
    m = Machine(fda=str(path), snapshot=True, **options)
    assert m.wait_for_text(PROMPT, timeout=120), screen(m)
    return m


def read_host_file(path, name):
    with DiskImage.open(str(path), readonly=True) as img:
        return FatVolume(img).read_file(name).decode("ascii")


@pytest.fixture(scope="module")
def freedos722(tmp_path_factory):
    """freedos722.img with its HIMEM line commented out (HIMEMX needs a 386; see
    test_boot.py)."""
    data = bytearray(shared_image("freedos722.img").read_bytes())
    at = data.find(HIMEM_LINE)
    assert at >= 0
    data[at] = ord(";")
    path = tmp_path_factory.mktemp("images") / "freedos722-nohimem.img"
    path.write_bytes(bytes(data))
    return path


# -- fdboot-1.4MB.img ----------------------------------------------------------------

def test_dir_type_ver_on_fdboot():
    path = shared_image("fdboot-1.4MB.img")
    config = read_host_file(path, "CONFIG.SYS")
    with boot(path) as m:
        text = command(m, "dir")
        for name in ("KERNEL   SYS", "COMMAND  COM", "CONFIG   SYS", "AUTOEXEC BAT", "README   TXT"):
            assert name in text, text
        assert "file(s)" in text and "bytes free" in text, text
        m.type_text("cls\n")
        text = command(m, "type config.sys")
        for line in config.splitlines():       # every line of the file, as the host reads it
            assert line.rstrip() in text, (line, text)
        text = command(m, "ver /r")
        assert "FreeCom version" in text and "FreeDOS kernel" in text, text


# -- svarog86-720k.img ---------------------------------------------------------------

def test_mem_reports_conventional_memory():
    with boot(shared_image("svarog86-720k.img")) as m:
        text = command(m, "mem")
        row = next(line for line in text.splitlines() if line.startswith("Conventional"))
        total_kb = int(row.split()[1].rstrip("K"))
        # Our BIOS carves no extended BIOS data area out of the 640 KiB (40:0E is 0),
        # so INT 12h gives all of it and MEM counts what INT 12h gives.
        int12_kb = int.from_bytes(m.read(0x413, 2), "little")
        assert m.read(0x40E, 2) == b"\0\0"
        assert total_kb == int12_kb == 640, (int12_kb, text)
        assert "Largest executable program size" in text, text


def test_edit_opens_and_quits():
    with boot(shared_image("svarog86-720k.img")) as m:
        m.type_text("cls\nedit\n")
        assert m.wait_for_text("FreeDOS Edit", timeout=20), screen(m)
        assert m.run_until(lambda m: "File  Edit  Search" in screen(m), timeout=10), screen(m)
        m.press("LALT")                          # Alt+F opens the File menu
        m.run(seconds=0.05)
        m.type_text("f")
        m.release("LALT")
        assert m.run_until(lambda m: "Save as..." in screen(m), timeout=5), screen(m)
        m.type_text("x")                         # File > Exit
        assert m.run_until(at_prompt(), timeout=10), screen(m)
        assert "File  Edit  Search" not in screen(m)


# -- freedos722.img ------------------------------------------------------------------

def test_games_directory_and_two_games(freedos722):
    with boot(freedos722) as m:
        assert "Welcome to FreeDOS" in screen(m)
        command(m, "cd games", prompt="A:\\GAMES>")
        text = command(m, "dir", prompt="A:\\GAMES>")
        for name in ("TETRIS   COM", "INVADERS COM", "SNAKE    EXE", "ROGUE    EXE"):
            assert name in text, text
        # Invaders draws in a graphics mode and Esc ends it, back in text mode.
        m.type_text("invaders\n")
        assert m.run_until(lambda m: not m.vga.is_text_mode(), timeout=10), screen(m)
        m.run(seconds=1)
        assert not m.vga.is_text_mode()
        m.type_text("{ESC}")
        assert m.run_until(lambda m: m.vga.is_text_mode() and at_prompt("A:\\GAMES>")(m),
                           timeout=10)
        # SmallTetris plays in text mode: its title shows and the first piece falls.
        m.type_text("cls\ntetris\n")
        assert m.wait_for_text("SmallTetris", timeout=10), screen(m)
        before = screen(m)
        m.run(seconds=2)
        assert "HISCORE" in screen(m) and screen(m) != before, screen(m)


# NASM.EXE on this image is built for an 80186: 2.8 million instructions in, its C
# code returns through LEAVE (C9h), which an 8086 takes for RETF, and the machine
# never comes back to the prompt.  So it assembles on an 80186 here.
def test_nasm_assembles_hello_and_it_runs(freedos722):
    source = read_host_file(freedos722, "HELLO.ASM")
    assert "'Hello, World!$'" in source
    with boot(freedos722, cpu="80186") as m:
        text = command(m, "type hello.asm")
        assert "db 'Hello, World!$'" in text, text
        m.type_text("cls\n")
        command(m, "nasm hello.asm -o h.com", timeout=30)
        text = command(m, "dir h.com")
        assert "H        COM" in text, text
        text = command(m, "h")
        assert "A:\\>h\nHello, World!\nA:\\>" in text, text


def test_debug_registers_dump_assemble_trace(freedos722):
    with boot(freedos722) as m:
        m.type_text("cls\ndebug\n")
        prompt = lambda m: screen(m).rstrip().endswith("\n-")
        assert m.run_until(prompt, timeout=10), screen(m)
        m.type_text("r\n")
        assert m.run_until(prompt, timeout=5), screen(m)
        regs = screen(m)
        assert "AX=0000" in regs and "IP=0100" in regs and "SP=FFFE" in regs, regs
        # The interrupt vector table's first four vectors, as the guest sees them.
        m.type_text("d 0:0 L10\n")
        assert m.run_until(prompt, timeout=5), screen(m)
        ivt = m.read(0, 16)
        row = " ".join(f"{b:02X}" for b in ivt[:8]) + "-" + " ".join(f"{b:02X}" for b in ivt[8:])
        assert "0000:0000  " + row in screen(m), (row, screen(m))
        m.type_text("a 100\nmov ax,1234\n\n")
        assert m.run_until(prompt, timeout=5), screen(m)
        assert "mov ax,1234" in screen(m)
        m.type_text("u 100 L3\n")
        assert m.run_until(prompt, timeout=5), screen(m)
        assert "B83412" in screen(m) and "MOV" in screen(m), screen(m)
        m.type_text("t\n")
        assert m.run_until(prompt, timeout=5), screen(m)
        last = screen(m).rsplit("-t", 1)[1]
        assert "AX=1234" in last and "IP=0103" in last, last
        m.type_text("q\n")
        assert m.run_until(at_prompt(), timeout=5), screen(m)
