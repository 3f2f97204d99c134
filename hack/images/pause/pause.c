/* pause: PID 1 of every pod sandbox. It holds the pod's namespaces open, reaps the zombies that
 * containers sharing its PID namespace leave behind, and exits cleanly on SIGINT or SIGTERM.
 * Built static (gcc -static) so the image needs nothing but this binary. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("tollgate-pause 1");
    return 0;
  }
  if (getpid() != 1) fputs("pause: not PID 1, zombies will not be reaped here\n", stderr);
  struct sigaction on_stop = {.sa_handler = stop};
  struct sigaction on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  if (sigaction(SIGINT, &on_stop, NULL) || sigaction(SIGTERM, &on_stop, NULL) ||
      sigaction(SIGCHLD, &on_child, NULL)) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) pause();
}
