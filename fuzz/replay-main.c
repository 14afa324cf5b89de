/* SPDX-License-Identifier: MIT */
/* Runs a fuzz target once on each file given (or each file of each directory given), so
 * that the corpora are replayed by `meson test` in every build, sanitized ones included,
 * without libFuzzer.  Prints `PVTEST suite=NAME passed=N failed=0 skipped=0`: a target
 * that crashes never gets to print it, and the harness counts that as a failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *buf;
        long len;

        if (!f)
                return -1;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc(len > 0 ? (size_t)len : 1);
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
                fclose(f);
                free(buf);
                return -1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        const char *name = argc > 1 ? argv[1] : "fuzz";
        int n = 0, bad = 0;

        for (int i = 2; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *de;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "replay: %s: cannot stat\n", argv[i]);
                        bad++;
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        bad += run_file(argv[i]) < 0;
                        n++;
                        continue;
                }
                d = opendir(argv[i]);
                while (d && (de = readdir(d))) {
                        char path[4096];
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        bad += run_file(path) < 0;
                        n++;
                }
                if (d)
                        closedir(d);
        }
        printf("PVTEST suite=%s passed=%d failed=%d skipped=0\n", name, n - bad, bad);
        return bad || n == 0 ? 1 : 0;
}
