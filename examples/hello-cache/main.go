// The seed article's example: a small HTTP server on port 8001, built in a Go toolchain image and
// shipped alone in a scratch image.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		fmt.Fprintf(w, "Hello from a Dockerception runtime image (%s)\n", host)
	})
	log.Println("listening on :8001")
	log.Fatal(http.ListenAndServe(":8001", nil))
}
