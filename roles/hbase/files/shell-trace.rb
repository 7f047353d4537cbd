# bigdata-admin: replaces the `trace` command of hbase-shell 2.4.17 (the last hbase-shell on Maven
# Central), which loads org.apache.hadoop.hbase.trace.SpanReceiverHost, an HTrace class that HBase
# 2.5 removed (it traces with OpenTelemetry). Without this file no shell command loads.
module Shell
  module Commands
    class Trace < Command
      def help
        'HBase 2.5 and later trace with OpenTelemetry (the HBase book, "Tracing"); ' \
          'the HTrace `trace` command of older shells does nothing here.'
      end

      def command(*_args)
        puts help
        false
      end
    end
  end
end
