# Declarations of the VGA memory engine, so that compiled code (the CPU core) can
# cimport VGAMem and call read8/write8 without going through Python.

cdef class VGAMem:
    cdef public object planes               # numpy uint8 (4, 65536)
    cdef unsigned char[:, ::1] pv           # view of planes used by the C paths
    cdef unsigned char latch[4]
    # raw register bytes copied from the sequencer and graphics controller
    cdef public unsigned char map_mask, memory_mode
    cdef public unsigned char set_reset, enable_set_reset, color_compare, data_rotate
    cdef public unsigned char read_map_select, gc_mode, gc_misc, color_dont_care, bit_mask
    cdef public bint dirty                  # set by every write; the renderer clears it

    cdef inline int _window_offset(self, unsigned int addr) noexcept
    cpdef int read8(self, unsigned int addr)
    cpdef void write8(self, unsigned int addr, int value)
    cpdef void write_block(self, unsigned int addr, const unsigned char[:] data)
