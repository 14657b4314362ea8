from varkit.cli.main import main

main()
