-- Narrow the application user's rights.
--
-- Token convention: before running the files in /docker-entrypoint-initdb.d,
-- the db image's entrypoint (stacks/extagram/images/db) replaces
--   @MYSQL_USER@      with the value of MYSQL_USER      (compose: DB_USER)
--   @MYSQL_DATABASE@  with the value of MYSQL_DATABASE  (compose: DB_NAME)
-- so this file is valid whatever the user and database are called. The stock
-- mariadb image does NOT do this substitution: run unmodified there, the
-- REVOKE fails (no user '@MYSQL_USER@') and the first start aborts.
--
-- The entrypoint has already created '@MYSQL_USER@'@'%' from MYSQL_USER /
-- MYSQL_PASSWORD with ALL PRIVILEGES on the database. The app only lists
-- posts and adds new ones, so it keeps SELECT and INSERT on `posts` alone.
-- Widen this (e.g. DELETE) if the app ever edits or removes posts.

REVOKE ALL PRIVILEGES, GRANT OPTION FROM '@MYSQL_USER@'@'%';
GRANT SELECT, INSERT ON `@MYSQL_DATABASE@`.posts TO '@MYSQL_USER@'@'%';
FLUSH PRIVILEGES;
