"""Boot every shared FreeDOS image to its prompt and use it, reading the screen
through the machine API as a user would read it."""
import pytest

from pyvmm.machine import Machine
from tests.helpers import shared_image

FLOPPIES = ["fdboot-1.4MB.img", "fdboot-1200K.img", "fdboot-720K.img", "fdboot-360K.img",
            "fdboot-320K.img", "fdboot-180K.img", "fdboot-160K.img", "svarog86-720k.img",
            "freedos722.img"]


def screen(m):
    return "\n".join(m.screen_text())


# freedos722.img's CONFIG.SYS loads \FDOS\HIMEM.EXE, a packed HIMEMX that needs a 386:
# its unpacker starts with PUSHA (on an 8086 the bytes are JO / RET 0DEBh and it runs
# off with a wrecked stack) and its init ends its first check in JB rel16, 0F 82 (#UD on
# a 186 or 286, POP CS on an 8086).  tests/cpu/test_cpu_probes.py pins those bytes per
# model.  Our CPU models stop at 286, so the boot tests use a copy of the image whose
# DEVICE= line is turned into a comment; test_freedos722_himem_needs_a_386 checks how
# the unmodified image stops.
HIMEM_LINE = b"DEVICE=\\FDOS\\HIMEM.EXE"


@pytest.fixture(scope="module")
def freedos722_without_himem(tmp_path_factory):
    data = bytearray(shared_image("freedos722.img").read_bytes())
    at = data.find(HIMEM_LINE)
    assert at >= 0 and data.find(HIMEM_LINE, at + 1) < 0
    data[at] = ord(";")                                # FreeDOS: ';' starts a comment
    path = tmp_path_factory.mktemp("images") / "freedos722-nohimem.img"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("cpu", ["8086", "8088", "80186", "80286"])
@pytest.mark.parametrize("image", FLOPPIES)
def test_floppy_boots_to_prompt(image, cpu, request):
    if image == "freedos722.img":
        path = request.getfixturevalue("freedos722_without_himem")
    else:
        path = shared_image(image)
    with Machine(fda=str(path), cpu=cpu, snapshot=True) as m:
        if image == "freedos722.img":
            assert m.wait_for_text("Welcome to FreeDOS", timeout=120), screen(m)
        assert m.wait_for_text("A:\\>", timeout=120), screen(m)


@pytest.mark.parametrize("cpu", ["80186", "80286"])
def test_freedos722_himem_needs_a_386(cpu):
    # The kernel's INT 6 handler names the faulting JB rel16 in HIMEM (loaded at 027F).
    with Machine(fda=str(shared_image("freedos722.img")), cpu=cpu, snapshot=True) as m:
        assert m.wait_for_text("Invalid Opcode at 0847 027F", timeout=10), screen(m)
        assert "Welcome to FreeDOS" not in screen(m)


def test_commands_after_boot():
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as m:
        assert m.wait_for_text("A:\\>", timeout=120), screen(m)
        m.type_text("ver /r\n")                        # plain VER names only the shell
        assert m.wait_for_text("FreeDOS kernel", timeout=20), screen(m)
        m.type_text("dir\n")
        assert m.wait_for_text("KERNEL", timeout=20), screen(m)
        m.type_text("type config.sys\n")
        m.run(seconds=2)
        assert screen(m).count("A:\\>") >= 3, screen(m)


def test_date_and_time_follow_the_configured_rtc():
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True,
                 rtc="2024-05-17T13:45:00") as m:
        assert m.wait_for_text("A:\\>", timeout=120), screen(m)
        m.type_text("date\n")
        assert m.wait_for_text("2024", timeout=20), screen(m)
        assert "05-17-2024" in screen(m) or "17.05.2024" in screen(m) or "2024-05-17" in screen(m), screen(m)
        m.type_text("\n")
        m.type_text("time\n")
        # FreeCOM shows the time in the country's format: 12-hour for the default (US).
        def shows_time(m):
            text = screen(m)
            return "13:45" in text or (" 1:45:0" in text and " pm" in text)
        assert m.run_until(shows_time, timeout=20), screen(m)
