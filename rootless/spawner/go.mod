module burrow/spawner

go 1.19
