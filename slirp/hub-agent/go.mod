module burrow/hub-agent

go 1.19
