DROP TABLE member_directory;
