module dockerception.test/gotar

go 1.19
