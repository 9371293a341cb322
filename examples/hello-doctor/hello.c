/* The same program as hello-c, linked dynamically (no -static): it needs the C library's loader and
 * libc.so.6 at run time, which a scratch image does not have. The doctor says so before anyone runs it. */
#include <stdio.h>

int main(void) {
    puts("Hello from a Dockerception runtime image built with gcc.");
    return 0;
}
