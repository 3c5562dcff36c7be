/*
 * Test-only: prints the real and effective uid, "<ruid> <euid>\n". Unlike busybox (which drops set-uid
 * privileges at start for most applets), it shows whether a set-uid bit took effect.
 * Built with gcc -static so any image can run it.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("%d %d\n", (int)getuid(), (int)geteuid());
    return fflush(stdout) == 0 ? 0 : 1;
}
