/* The fuzz input as a file for parsers that read a path: an anonymous memory file, named by
 * /proc/self/fd, so that millions of executions touch no disk. */
#ifndef MXTLS_FUZZ_MEMFILE_H
#define MXTLS_FUZZ_MEMFILE_H

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes DATA to a new memory file; its path into PATH. Returns the descriptor, or -1. */
static inline int memfile(const void *data, size_t size, char path[64]) {
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
