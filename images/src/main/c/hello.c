/*
 * The program of hello.tar: prints "Hello, World" and a newline.
 *
 * Built with gcc -static so the image needs nothing else: no libc, no loader.
 * Exits non-zero if the line could not be written (e.g. stdout closed).
 */
#include <stdio.h>

int main(void)
{
	if (puts("Hello, World") == EOF)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
