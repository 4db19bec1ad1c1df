// actiondrop: the admin CLI (SPEC §8). Process wiring only; the work is in lib/.
#include <cstdio>

int main() {
    std::fputs("actiondrop: not built yet\n", stderr);
    return 64;
}
