-- SmartCar_Drive_Info as a text table with the nine columns of the HBase mapping (row key first):
-- used on the Spark Thrift Server, or where driving records were exported to text.

CREATE EXTERNAL TABLE IF NOT EXISTS SmartCar_Drive_Info (
  r_key string, r_date string, car_number string, speed_pedal string, break_pedal string,
  steer_angle string, direct_light string, speed string, area_number string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION '${pilot_root}/collect/car-drive-info';
