-- Run at start-up (`init-file`) by tests/peers/mariadb/conform.cnf: an
-- account that any host matches, locked, so that a client's address passes
-- MariaDB's host check (otherwise error 1130 `Host '…' is not allowed to
-- connect` comes as soon as the header is read, before the client's login
-- is). `ppctl conform`'s login as `ppctl` then gets `Access denied for
-- user 'ppctl'@'<address>'`, which names the address MariaDB took.
CREATE USER IF NOT EXISTS 'conform'@'%' ACCOUNT LOCK;
