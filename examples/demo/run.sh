#!/bin/sh
# The mailbox demo (mailbox.md §16 scenario 39): a producer forwards its stdin lines
# through the app:procon mailbox to a consumer that prints them; "exit" ends both.
#
#   examples/demo/run.sh                      # type lines, end with "exit"
#   printf 'hello\nexit\n' | examples/demo/run.sh
#
# Extra arguments go to `hsx run` (e.g. --clock virtual, -v).
cd "$(dirname "$0")/../.." || exit 1
exec cargo run --quiet --release -p hsx-cli --bin hsx -- run "$@" \
    examples/demo/producer.mvasm examples/demo/consumer.mvasm
