/* Apply PA19 patches with the system's mspatcha.dll (under Wine: Wine's own applier).
 * usage: apply_patch PATCH OLD|- NEW [PATCH OLD|- NEW]...
 * Prints one line per patch: "ok" or "error 0x...", and exits 0 when every line was
 * printed (the caller compares the outputs). */
#include <windows.h>
#include <stdio.h>
#include <string.h>

typedef BOOL (WINAPI *apply_fn)(LPCSTR, LPCSTR, LPCSTR, ULONG);

int main(int argc, char **argv)
{
    HMODULE m;
    apply_fn apply;
    int i;
    if (argc < 4 || (argc - 1) % 3 != 0) {
        fprintf(stderr, "usage: apply_patch PATCH OLD|- NEW [PATCH OLD|- NEW]...\n");
        return 2;
    }
    m = LoadLibraryA("mspatcha.dll");
    if (!m) {
        fprintf(stderr, "no mspatcha.dll (%lu)\n", GetLastError());
        return 3;
    }
    apply = (apply_fn)GetProcAddress(m, "ApplyPatchToFileA");
    if (!apply) {
        fprintf(stderr, "no ApplyPatchToFileA\n");
        return 3;
    }
    for (i = 1; i + 2 < argc; i += 3) {
        if (apply(argv[i], strcmp(argv[i + 1], "-") ? argv[i + 1] : NULL, argv[i + 2], 0))
            printf("ok\n");
        else
            printf("error 0x%08lx\n", GetLastError());
    }
    fflush(stdout);
    return 0;
}
