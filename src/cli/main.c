/* mxtls: one binary, subcommands in the manner of git (shared/DESIGN.md, Commands). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "mxtls/crypto.h"
#include "mxtls/version.h"

static const mx_command_t commands[] = {
#define X(name, fn, help) {name, fn, help},
    MX_COMMANDS(X)
#undef X
};

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n  mxtls COMMAND --help   options of a command\n"
               "  mxtls -V, --version    versions of mxtls and its libraries\n");
}

int main(int argc, char **argv) {
    mx_crypto_init();
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    /* -V / --version anywhere before a "--" (and before the command) prints the versions. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0 ||
            (i == 1 && strcmp(argv[i], "version") == 0)) {
            char buf[512];
            mx_versions_text(buf, sizeof(buf));
            fputs(buf, stdout);
            return 0;
        }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            /* getopt's own messages then read "mxtls scan: unrecognized option ...". */
            char name[32];
            snprintf(name, sizeof(name), "mxtls %s", commands[i].name);
            argv[1] = name;
            return commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "mxtls: unknown command '%s'; see mxtls --help\n", argv[1]);
    return 1;
}
