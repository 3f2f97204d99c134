#!/bin/sh
# Entrypoint of the redis image, doing what the official image's does for the way the chart runs
# it: arguments that start with `-` (`--save "" --appendonly no`) are redis-server's.
set -eu
if [ "${1#-}" != "$1" ]; then
  set -- redis-server "$@"
fi
# Without a config file Redis starts in protected mode and refuses clients from other pods; the
# official image builds Redis with protected mode off. So, unless the arguments set it themselves
# or name a config file, or only ask for the version or help, it is turned off.
if [ "$1" = redis-server ]; then
  case "${2:-}" in
    -v | --version | -h | --help | --test-memory | --check-system) ;;
    '' | -*)
      case " $* " in
        *" --protected-mode "*) ;;
        *) set -- "$@" --protected-mode no ;;
      esac
      ;;
  esac
fi
exec "$@"
