/* A C program linked statically, so the runtime image needs nothing but the binary. */
#include <stdio.h>

int main(void) {
    puts("Hello from a Dockerception runtime image built with gcc.");
    return 0;
}
