#!/usr/bin/env bash
# make swarm-down: removes stack headroom from the swarm and waits until its services, its containers on
# this node and its network are gone (docker stack rm returns before they are). With -v, then removes the
# stack's volumes on this node (a volume lives on the node that made it: other nodes keep theirs).
# DOCKER names the client (default docker).
set -euo pipefail
docker=${DOCKER:-docker}
remove_volumes=false
for argument in "$@"; do
  case "$argument" in
    -v|--volumes) remove_volumes=true ;;
    *) echo "swarm-down: unknown argument $argument (only -v)" >&2; exit 2 ;;
  esac
done
stack_filter=label=com.docker.stack.namespace=headroom
$docker stack rm headroom
for _ in $(seq 1 120); do
  if [ -z "$($docker service ls --quiet --filter "$stack_filter")" ] && [ -z "$($docker ps --all --quiet --filter "$stack_filter")" ] \
    && [ -z "$($docker network ls --quiet --filter "$stack_filter")" ]; then
    if $remove_volumes; then
      volumes=$($docker volume ls --quiet --filter "$stack_filter")
      if [ -n "$volumes" ]; then $docker volume rm $volumes; fi
    fi
    exit 0
  fi
  sleep 1
done
echo "swarm-down: stack headroom still has containers or a network after 120 s" >&2
exit 1
