module hello-cache

go 1.19
