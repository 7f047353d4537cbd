-- Spark SQL: average speed per area on the day.
SELECT area_number, avg(cast(speed AS double)) AS avg_speed
FROM Managed_SmartCar_Drive_Info
WHERE biz_date = '${working_day}'
GROUP BY area_number
ORDER BY area_number
