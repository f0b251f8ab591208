-- Extagram schema. Run once by the database image's entrypoint, on the first
-- start with an empty db_data volume, inside the MYSQL_DATABASE database
-- (so no database name appears here). Files run in name order: 01 before 02.

CREATE TABLE IF NOT EXISTS posts (
    id          INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
    caption     VARCHAR(500) NOT NULL,
    image_path  VARCHAR(255) NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    INDEX (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
