#!/usr/bin/env bash
# test_two_daemons.sh with the shared local inbox on another file system (/dev/shm) than the
# services' state folders, the shape of two hosts sharing a folder: every claim is a copy.
TWO_DAEMONS_DROP=$(mktemp -d /dev/shm/actiondrop-two.XXXXXX)
export TWO_DAEMONS_DROP
exec bash "$(dirname "$0")/test_two_daemons.sh"
