package main

// setns(2): the syscall package names it on arm64 only.
const sysSetns = 308
