/* Runs the fuzz target over the files and directories given (its seed corpus): with any
 * compiler, so the plain and sanitizer builds check the corpus on every run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  static uint8_t buf[1 << 20];
  size_t n;
  if (!f) return perror(path), -1;
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, n);
  return 0;
}

int main(int argc, char **argv) {
  int i, files = 0;
  for (i = 1; i < argc; i++) {
    struct stat st;
    DIR *d;
    struct dirent *e;
    char path[4096];
    if (stat(argv[i], &st) < 0) return perror(argv[i]), 1;
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) < 0) return 1;
      files++;
      continue;
    }
    if (!(d = opendir(argv[i]))) return perror(argv[i]), 1;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (run_file(path) < 0) return 1;
      files++;
    }
    closedir(d);
  }
  printf("%d inputs, no failure\n", files);
  return files ? 0 : 1;
}
