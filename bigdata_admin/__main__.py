from bigdata_admin.cli import main

main()
