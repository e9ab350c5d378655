"""VGA benchmark: renderer frame times and the cost of planar memory writes.

Run: python3 benchmarks/vga_bench.py [--repeat N]
Reports median milliseconds per full (uncached) frame for 80x25 text, mode 12h
(640x480x16) and mode 13h, the cost of a cached frame, and a full-screen mode 12h
redraw (4 planes x 38400 bytes through the map mask) done with VGAMem.write8 called
from Python, VGAMem.write_block (the data path called from C, as a CPU core will),
and plain per-byte numpy stores, with the ratios between them.
"""
import argparse
import statistics
import time

import numpy as np

from pyvmm.board import Board
from pyvmm.devices.vga import VGA, program_mode


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def machine(mode):
    board = Board()
    vga = board.attach(VGA())
    program_mode(board.io, mode)
    board.io.outb(0x3C8, 0)
    for i in range(768):
        board.io.outb(0x3C9, (i * 7) & 0x3F)
    return board, vga


def frame_ms(mode, fill, repeat):
    board, vga = machine(mode)
    fill(board)

    def full():
        vga.mem.dirty = True                 # defeat the cache: measure a real render
        vga.render()
    return median_ms(full, repeat), median_ms(vga.render, repeat), vga.frame_size()


def fill_text(board):
    cells = np.arange(4000, dtype=np.uint32)
    data = np.where(cells % 2 == 0, cells // 2 & 0xFF, 0x1E).astype(np.uint8)
    board.mem.write(0xB8000, data.tobytes())


def fill_random(board):
    rng = np.random.default_rng(0)
    vga = board.vga
    vga.mem.planes[:] = rng.integers(0, 256, vga.mem.planes.shape, dtype=np.uint8)


def redraw_ms(repeat):
    board, vga = machine(0x12)
    mem = vga.mem
    rng = np.random.default_rng(1)
    planes = [rng.integers(0, 256, 38400, dtype=np.uint8) for _ in range(4)]
    plane_lists = [p.tolist() for p in planes]
    io = board.io

    def via_write8():
        write8 = mem.write8
        for p in range(4):
            io.outw(0x3C4, (1 << p) << 8 | 2)
            base = 0xA0000
            for i, v in enumerate(plane_lists[p]):
                write8(base + i, v)

    def via_block():
        for p in range(4):
            io.outw(0x3C4, (1 << p) << 8 | 2)
            mem.write_block(0xA0000, planes[p])

    target = np.zeros(4 * 38400, dtype=np.uint8)

    def via_numpy():
        for p in range(4):
            off = p * 38400
            for i, v in enumerate(plane_lists[p]):
                target[off + i] = v

    return (median_ms(via_write8, repeat), median_ms(via_block, repeat),
            median_ms(via_numpy, repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rows = [("80x25 text (mode 03h)", 0x03, fill_text),
            ("640x480x16 (mode 12h)", 0x12, fill_random),
            ("320x200x256 (mode 13h)", 0x13, fill_random)]
    for label, mode, fill in rows:
        full, cached, size = frame_ms(mode, fill, args.repeat)
        print(f"{label:24s} {size[0]}x{size[1]}: render {full:6.3f} ms, cached {cached:6.3f} ms")
    w8, block, plain = redraw_ms(max(3, args.repeat // 10))
    print(f"mode 12h full redraw (153600 bytes): write8 from Python {w8:7.1f} ms, "
          f"write_block (C) {block:6.2f} ms, numpy per-byte stores {plain:7.1f} ms")
    print(f"ratios: write8/numpy {w8 / plain:.2f}, write_block/numpy {block / plain:.3f}")


if __name__ == "__main__":
    main()
